"""Practice quizzes: generated from a stage's chunks with schema-constrained JSON
(generate.py), checked against their source before they are stored as servable
(validate.py), drawn from a bank (bank.py), graded on the server with mastery and FSRS
review updates (grade.py), and hinted at without ever giving the key (hints.py).

Erasing a learner erases their quizzes, attempts, hints and reviews without help from here:
tutor/privacy.py finds them from the schema (learner_id columns and foreign keys).
"""
