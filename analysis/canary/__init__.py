"""The canary evaluation, pure: side totals (inputs), statistics (stats, and analysis/sequential.py for
the live watch), the rollback rules on a window (rules), metric verdicts and the overall (verdicts),
one evaluation (evaluation), the report and evidence packet (report), which canaries are active
(active) and the delta over the watch (trajectory)."""

from analysis.canary.evaluation import Evaluation, evaluate

__all__ = ["Evaluation", "evaluate"]
