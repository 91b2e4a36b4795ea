DROP TABLE email_sends;
DROP TABLE email_suppressions;
DROP TABLE email_templates;
DROP TABLE promotions;
DROP TABLE purchases;
DROP TABLE shop_items;
DROP TABLE shop_users;
