// Package keyid owns the identifiers mykey deals in: the MyKey ID (minting,
// parsing and its check character), the keyed pseudonym that stands in for a
// certificate's issuance number, and the normalisation and validation of
// library patron numbers.
//
// The package is pure: it performs no I/O. Randomness and secrets are passed
// in by the caller.
package keyid
