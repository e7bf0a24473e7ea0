"""The report document: one filed report laid out as the bureau sends it.

``document.build`` turns a filing (``incidents.reports.Report``) and its incident into a
:class:`~app.reports.document.ReportDocument` — the header facts, the Art. 7 (or Art. 8)
items in the article's order — always in Chinese, because it goes to the cyberspace
administration or the superior department. The printable page (HTML), ``pdf.render``
and ``docx.render`` all lay out that one structure, so the three never disagree.
"""
