"""The one run wrapper: fire context, overlap fold, misfire grace, time limit, outcome."""
