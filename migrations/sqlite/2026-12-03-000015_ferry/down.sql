DROP TABLE ferry_sent;
DROP TABLE ferry_streams;
DROP TABLE ferry_nodes;
