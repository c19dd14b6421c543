"""Recognition engines: the statistical ScoreModel and real face engines (dlib, insightface)."""
