-- Write the deletions to the database file and reclaim free blocks. No parameters.
CHECKPOINT;
