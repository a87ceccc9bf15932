"""summarizer: grounded news briefs in which every claim cites the exact source sentences it rests on."""

__version__ = "0.1.0"
