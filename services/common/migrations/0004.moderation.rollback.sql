DROP TABLE moderation_appeals;
DROP TABLE moderation_review;
DROP TABLE moderation_decisions;
DROP TABLE moderation_content;
