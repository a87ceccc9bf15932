"""summarizer: grounded news briefs in which every claim cites the exact source sentences it rests on."""
