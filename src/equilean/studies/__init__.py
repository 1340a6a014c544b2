"""Interview studies: transcripts, codebook, blind parallel coding, agreement and themes."""
