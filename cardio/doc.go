// Package cardio speaks to the JPKI applet of a My Number Card over a small
// Transport interface: it selects the applet, reads the token information and
// the user-identification certificate and its CA certificate without a PIN,
// asks how many PIN tries are left, verifies the user-identification PIN and
// signs with the card's authentication key.
//
// It copes with what real readers do: responses shorter than asked in the
// middle of a file, 61xx (more data: GET RESPONSE), 6Cxx (wrong Le: repeat),
// 6B00 or an empty 9000 past the end, and responses shorter than a status
// word. Status words become typed errors.
//
// It never touches the card's personal-data applications, and it never keeps
// or logs a PIN.
package cardio
