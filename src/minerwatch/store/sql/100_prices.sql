-- Daily BTC/USD that values every USD figure. A day without a row is a gap, never a zero price.
CREATE TABLE prices (
    date       DATE PRIMARY KEY,
    price_usd  DOUBLE NOT NULL CHECK (price_usd > 0),
    source     VARCHAR NOT NULL           -- 'bitstamp-first-minute' (shipped), 'import:<file>', 'live:<exchanges>'
);
