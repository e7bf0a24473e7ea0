"""The demo organisation that ``make run`` (``fenghuo run``) and ``fenghuo demo seed``
load into an empty database: ``organisation.yaml`` (departments, people, systems),
``duty_team.yaml`` (the command center's duty officers and engineers on the roster) and
``rosters`` (a filled duty roster and the year's holiday table)."""
