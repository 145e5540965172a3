-- What the genuine-card check (JPKI Act Art. 38-4 ②) compares at each tap,
-- kept per MyKey ID from its last registration, only what the mode needs:
-- the date of birth (mode dob) or the card's surface-applet public key
-- (mode card-key), each sealed (AES-GCM under a key derived from the
-- pseudonym secret, bound to the MyKey ID), and a keyed fingerprint of the
-- card key. Never anything in clear.
CREATE TABLE genuine (
    mykey_id    TEXT PRIMARY KEY REFERENCES mykey_ids (id),
    mode        TEXT NOT NULL CHECK (mode IN ('dob', 'card-key')),
    dob         BLOB,
    card_key    BLOB,
    key_fp      BLOB NOT NULL,
    captured_at TEXT NOT NULL,
    CHECK ((mode = 'dob' AND dob IS NOT NULL AND card_key IS NULL) OR (mode = 'card-key' AND card_key IS NOT NULL AND dob IS NULL))
) STRICT;
