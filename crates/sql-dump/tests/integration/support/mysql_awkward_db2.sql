-- The second database of the multi-database dump test (`--databases db1 db2`).
SET NAMES utf8mb4;
CREATE TABLE customers (
  id INT NOT NULL PRIMARY KEY,
  email VARCHAR(191) NOT NULL,
  company VARCHAR(100) NULL,
  UNIQUE KEY customers_email (email)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
INSERT INTO customers VALUES
(1, 'ALICE@example.com', 'Acme ''Widgets'' Ltd'),
(2, 'bob.smith+tag@example.org', 'Back\\slash & Co'),
(3, 'zed@example.com', NULL);
