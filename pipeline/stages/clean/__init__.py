"""The clean stage's machinery: blocks, their signals, cue phrases, the classifier, HTML.

`pipeline.stages.clean.CleanStage` is the stage; the modules here hold what it is made of:
`blocks` (splitting a page into blocks), `cues` (the phrase lists in pipeline/resources/cues),
`signals` (per-block measurements: length, stopword density, language), `classify` (the
decision), `html` (main-content extraction and metadata with trafilatura).
"""
