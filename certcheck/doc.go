// Package certcheck decides whether a card's user-identification
// certificate may be trusted: its chain to a configured JPKI trust anchor
// (several CA generations share one DN, so the issuer is picked by
// signature), its validity at an injected clock, the JPKI profile (key usage,
// policy OID), test cards, and revocation by OCSP or by a CRL index.
//
// CRLs with millions of entries are scanned as a stream: the signature is
// checked over the TBS bytes as they pass and only the serial numbers are
// kept, in a compact sorted index written atomically.
package certcheck
