"""The ESG report: HTML and PDF with charts and GRI / ISO/IEC 30134 / EU 2024/1364 tables."""

from greendc.report.render import ReportError, build_report

__all__ = ["ReportError", "build_report"]
