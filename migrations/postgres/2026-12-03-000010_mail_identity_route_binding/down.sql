DROP TABLE mail_ack_quota;
ALTER TABLE tips DROP COLUMN route_mac;
