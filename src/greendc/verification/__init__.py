"""Measurement and verification of savings on metered data (IPMVP; ASHRAE Guideline 14-2014).

A baseline model fitted on metered data before a measure predicts what the site would have used in the
reporting period after it (the adjusted baseline); the avoided energy is that minus what was metered, with
its uncertainty. Randomized A/B switching estimates a saving within one period instead. The record
(:mod:`greendc.verification.record`) is what carbon and the report read.
"""
