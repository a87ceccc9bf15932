"""Evals: hand-labelled cases, a deterministic scorer, a runner, reports and a prompt-comparison gate.

The stages, in the order a run travels through them:

- ``gold``: the case format (articles plus hand-labelled facts, consensus, discrepancies and timeline) and its loader;
- ``scaffold``: the skeleton of a new case from article files;
- ``matching``: how a predicted value or statement is compared with a labelled one;
- ``metrics``: the counts a scorer collects and the metrics computed from them;
- ``score``: a Brief against a case's labels, as counts and metrics;
- ``oracle``: the labels as a prediction (must score 1.0), for checking the scorer;
- ``run``: the pipeline (or the extractive baseline) over the cases, repeated for a stochastic model;
- ``intervals``: micro and macro averages across cases, bootstrap intervals over cases, Wilson over items;
- ``compare``: two runs side by side, and the gate that fails only when the paired difference is worse;
- ``report``: JSON, Markdown and self-contained HTML (Jinja2 templates in ``templates/``);
- ``cli``: the ``summarizer eval`` command.
"""
