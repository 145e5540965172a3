// Package vcard is a virtual JPKI card for tests, benchmarks and the demo.
// Card answers APDUs as a My Number Card's JPKI applet does (PIN-less
// certificate files, a PIN with a retry counter, signing with the
// authentication key) and can inject the faults real readers and cards
// show. Serve connects it to pcscd through the vpcd virtual reader driver;
// Card is also a cardio.Transport for in-process tests.
package vcard

import (
	"context"
	"crypto"
	"crypto/rsa"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/mykey-jp/mykey/cardio"
)

// ATR is the contact ATR of a My Number Card (T=1).
var ATR = []byte{0x3B, 0xE0, 0x00, 0xFF, 0x81, 0x31, 0xFE, 0x45, 0x14}

// MaxTries is the retry limit of the user-identification PIN.
const MaxTries = 3

// Faults are misbehaviours the card can show.
type Faults struct {
	RemoveAfter int           // the card is pulled once, after this many APDUs (0: never)
	Delay       time.Duration // each APDU takes this long
	NotJPKI     bool          // the JPKI applet is missing (another kind of card)
	ShortReads  int           // READ BINARY returns at most this many bytes (0: as asked)
	GetResponse bool          // data comes back as 61xx, to be fetched with GET RESPONSE (T=0)
	WrongLe     int           // READ BINARY asking more than this answers 6Cxx with this (0: off)
	EmptyEOF    bool          // past the end, answer 9000 with no data instead of 6B00
	NoExtended  bool          // extended-length APDUs are refused with 6700
}

// Config is what the card holds.
type Config struct {
	AuthCert  []byte          // EF 000A, DER
	AuthCA    []byte          // EF 000B, DER
	Key       *rsa.PrivateKey // EF 0017
	PIN       string          // 4 digits
	Token     string          // EF 0006; "JPKIAPICCTOKEN2" when empty
	TriesLeft int             // initial PIN tries left; MaxTries when 0
	Padding   int             // bytes of 0xFF padding after each certificate
	Faults    Faults
	// Surface is the card-surface applet; nil for a card without it.
	Surface *Surface
	// Assist is the input-assist applet; nil for a card without it.
	Assist *Assist
}

// Assist is what the input-assist applet holds.
type Assist struct {
	PIN       string // 4 digits, may differ from the JPKI PIN
	TriesLeft int    // MaxTries when 0
	Basic     []byte // EF 0002: name, address, DOB, sex (FF20 with offsets)
}

// Surface is what the card-surface applet holds.
type Surface struct {
	DOB       string          // YYYYMMDD: its DOBKey opens the age record
	CardKey   *rsa.PrivateKey // signs challenges without a credential
	AgeRecord []byte          // EF 0001, signed by the AP key
	CVC       []byte          // EF 0004, the AP key's certificate
	TriesLeft int             // of the date-of-birth key; DOBTries when 0, blocked when < 0
}

// DOBTries is the retry limit the virtual date-of-birth key starts with.
const DOBTries = 10

// Card is a virtual JPKI card. Its methods are safe for concurrent use.
type Card struct {
	mu          sync.Mutex
	cfg         Config
	files       map[uint16][]byte
	tries       int
	log         io.Writer
	apdus       int
	removed     bool
	selected    bool // JPKI applet selected
	surface     bool // card-surface applet selected
	dobOK       bool // date-of-birth key verified since the surface applet was selected
	dobTries    int
	assist      bool // input-assist applet selected
	assistOK    bool // its PIN verified since it was selected
	assistTries int
	ef          uint16 // selected EF, 0 when none
	verified    bool   // PIN verified in this card session
	pending     []byte // response data waiting for GET RESPONSE
}

// New returns a card holding cfg. apduLog, if not nil, receives every
// command and response in hex, one per line, with PIN digits redacted.
func New(cfg Config, apduLog io.Writer) (*Card, error) {
	if len(cfg.PIN) != 4 {
		return nil, fmt.Errorf("the virtual card's PIN must be 4 digits")
	}
	if cfg.Key == nil || len(cfg.AuthCert) == 0 {
		return nil, fmt.Errorf("the virtual card needs a certificate and its key")
	}
	token := cfg.Token
	if token == "" {
		token = "JPKIAPICCTOKEN2"
	}
	tok := []byte(fmt.Sprintf("%-32s", token))
	pad := func(b []byte) []byte {
		out := append([]byte(nil), b...)
		for range cfg.Padding {
			out = append(out, 0xFF)
		}
		return out
	}
	tries := cfg.TriesLeft
	if tries == 0 {
		tries = MaxTries
	}
	dobTries := DOBTries
	if cfg.Surface != nil {
		if cfg.Surface.CardKey == nil {
			return nil, fmt.Errorf("the virtual card's surface applet needs its card key")
		}
		if cfg.Surface.TriesLeft != 0 {
			dobTries = max(cfg.Surface.TriesLeft, 0)
		}
	}
	assistTries := MaxTries
	if cfg.Assist != nil && cfg.Assist.TriesLeft > 0 {
		assistTries = cfg.Assist.TriesLeft
	}
	return &Card{
		assistTries: assistTries,
		dobTries:    dobTries,
		cfg:         cfg,
		files: map[uint16][]byte{
			cardio.EFTokenInfo: tok,
			cardio.EFAuthCert:  pad(cfg.AuthCert),
			cardio.EFAuthCA:    pad(cfg.AuthCA),
			0x0002:             pad(cfg.AuthCA), // signature CA; the auth CA stands in
		},
		tries: tries,
		log:   apduLog,
	}, nil
}

// SetFaults replaces the card's faults and restarts the APDU count that
// RemoveAfter counts.
func (c *Card) SetFaults(f Faults) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cfg.Faults, c.apdus, c.removed = f, 0, false
}

// TriesLeft returns the PIN tries left.
func (c *Card) TriesLeft() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tries
}

// APDUs returns how many command APDUs the card has answered since the
// last SetFaults.
func (c *Card) APDUs() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.apdus
}

// Reset is a power cycle or warm reset: selection, PIN verification and
// pending data are lost, the retry counter is kept.
func (c *Card) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.selected, c.surface, c.ef, c.verified, c.dobOK, c.pending = false, false, 0, false, false, nil
	c.assist, c.assistOK = false, false
}

// DOBTriesLeft returns the tries left of the surface applet's date-of-birth
// key.
func (c *Card) DOBTriesLeft() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dobTries
}

// AssistTriesLeft returns the tries left of the input-assist PIN.
func (c *Card) AssistTriesLeft() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.assistTries
}

// Insert puts a pulled card back: it answers again, from a reset state.
func (c *Card) Insert() {
	c.Reset()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.removed = false
}

// Transmit makes Card a cardio.Transport: it answers apdu in process,
// returning cardio.ErrCardRemoved once a RemoveAfter fault fires.
func (c *Card) Transmit(ctx context.Context, apdu []byte) ([]byte, error) {
	resp, removed := c.Process(apdu)
	if removed {
		return nil, cardio.ErrCardRemoved
	}
	return resp, ctx.Err()
}

// Process answers one command APDU. removed reports that the card has been
// pulled (RemoveAfter): there is no response.
func (c *Card) Process(apdu []byte) (resp []byte, removed bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.removed {
		return nil, true
	}
	c.apdus++
	if n := c.cfg.Faults.RemoveAfter; n > 0 && c.apdus > n {
		// One pull: held up again, the card works.
		c.removed, c.cfg.Faults.RemoveAfter = true, 0
		return nil, true
	}
	if d := c.cfg.Faults.Delay; d > 0 {
		c.mu.Unlock()
		time.Sleep(d)
		c.mu.Lock()
	}
	resp = c.answer(apdu)
	if c.log != nil {
		out := hex.EncodeToString(resp)
		if (c.surface && c.ef == cardio.EFAgeRecord || c.assist && c.ef == cardio.EFBasicInfo) && len(apdu) > 1 && apdu[1] == 0xB0 && len(resp) > 2 {
			out = "<personal data redacted>" + out[len(out)-4:] // the date of birth
		}
		fmt.Fprintf(c.log, "> %s\n< %s\n", redact(apdu), out)
	}
	return resp, false
}

// redact hides the data of a VERIFY command: a PIN or a date of birth is
// never logged.
func redact(apdu []byte) string {
	if len(apdu) > 5 && apdu[1] == 0x20 {
		return hex.EncodeToString(apdu[:5]) + "<PIN redacted>"
	}
	return hex.EncodeToString(apdu)
}

func sw(v uint16) []byte { return []byte{byte(v >> 8), byte(v)} }

// respond returns data with 9000, or as 61xx for GET RESPONSE.
func (c *Card) respond(data []byte) []byte {
	if c.cfg.Faults.GetResponse && len(data) > 0 {
		c.pending = data
		return sw(0x6100 | uint16(min(len(data), 256)&0xFF))
	}
	return append(append([]byte(nil), data...), 0x90, 0x00)
}

func (c *Card) answer(apdu []byte) []byte {
	if len(apdu) < 4 {
		return sw(0x6700)
	}
	cla, ins, p1, p2 := apdu[0], apdu[1], apdu[2], apdu[3]
	body := apdu[4:]
	if ins != 0xC0 {
		c.pending = nil
	}
	if cla != 0x00 && !(cla == 0x80 && ins == 0x2A) {
		return sw(0x6E00)
	}
	switch ins {
	case 0xA4:
		return c.selectFile(p1, body)
	case 0xB0:
		return c.readBinary(int(p1&0x7F)<<8|int(p2), p1&0x80 != 0, body)
	case 0x20:
		return c.verify(p2, body)
	case 0x2A:
		return c.sign(p1, p2, body)
	case 0xC0:
		if c.pending == nil {
			return sw(0x6985)
		}
		n := min(len(c.pending), 256)
		out := c.pending[:n]
		c.pending = c.pending[n:]
		if len(c.pending) == 0 {
			c.pending = nil
			return append(append([]byte(nil), out...), 0x90, 0x00)
		}
		return append(append([]byte(nil), out...), 0x61, byte(min(len(c.pending), 256)))
	}
	return sw(0x6D00)
}

// Files the applet has besides the readable ones: the authentication key
// and PIN, and the signature certificate, key and PIN (the signature side
// exists so that clients such as OpenSC recognise the applet; this card
// never unlocks it).
const (
	efSignCert = 0x0001
	efSignKey  = 0x001A
	efSignPIN  = 0x001B
	signTries  = 5
)

var internalEF = map[uint16]bool{
	cardio.EFAuthKey: true, cardio.EFAuthPIN: true,
	efSignCert: true, efSignKey: true, efSignPIN: true,
}

func (c *Card) selectFile(p1 byte, body []byte) []byte {
	if len(body) < 1 || len(body) < 1+int(body[0]) {
		return sw(0x6700)
	}
	data := body[1 : 1+int(body[0])]
	switch p1 {
	case 0x04: // by AID
		c.selected, c.surface, c.ef, c.verified, c.dobOK = false, false, 0, false, false
		c.assist, c.assistOK = false, false
		switch {
		case string(data) == string(cardio.SurfaceAID) && c.cfg.Surface != nil:
			c.surface = true
			return sw(0x9000)
		case string(data) == string(cardio.AssistAID) && c.cfg.Assist != nil:
			c.assist = true
			return sw(0x9000)
		case c.cfg.Faults.NotJPKI || string(data) != string(cardio.AID):
			return sw(0x6A82)
		}
		c.selected = true
		return sw(0x9000)
	case 0x02: // EF under the applet
		if c.surface && len(data) == 2 {
			return c.selectSurfaceEF(binary.BigEndian.Uint16(data))
		}
		if c.assist && len(data) == 2 {
			return c.selectAssistEF(binary.BigEndian.Uint16(data))
		}
		if !c.selected || len(data) != 2 {
			return sw(0x6A82)
		}
		ef := binary.BigEndian.Uint16(data)
		if _, ok := c.files[ef]; !ok && !internalEF[ef] {
			return sw(0x6A82)
		}
		c.ef = ef
		return sw(0x9000)
	}
	return sw(0x6A86)
}

// le decodes the expected length of a case-2 APDU body: short (1 byte, 0
// meaning 256) or extended (00 HH LL, 0000 meaning 65536). ok is false for a
// body of another shape, or an extended one the card refuses.
func (c *Card) le(body []byte) (n int, ok bool, status uint16) {
	switch {
	case len(body) == 0:
		return 256, true, 0
	case len(body) == 1:
		if body[0] == 0 {
			return 256, true, 0
		}
		return int(body[0]), true, 0
	case len(body) == 3 && body[0] == 0:
		if c.cfg.Faults.NoExtended {
			return 0, false, 0x6700
		}
		n := int(binary.BigEndian.Uint16(body[1:]))
		if n == 0 {
			n = 65536
		}
		return n, true, 0
	}
	return 0, false, 0x6700
}

func (c *Card) readBinary(offset int, shortEF bool, body []byte) []byte {
	if c.surface && !shortEF {
		return c.readSurface(offset, body)
	}
	if c.assist && !shortEF {
		if c.ef != cardio.EFBasicInfo {
			return sw(0x6981)
		}
		if !c.assistOK {
			return sw(0x6982)
		}
		return c.read(c.cfg.Assist.Basic, true, offset, body)
	}
	if shortEF || !c.selected {
		return sw(0x6986)
	}
	file, ok := c.files[c.ef]
	return c.read(file, ok, offset, body)
}

// read answers READ BINARY from file (ok: it is readable).
func (c *Card) read(file []byte, ok bool, offset int, body []byte) []byte {
	if !ok {
		switch c.ef {
		case 0:
			return sw(0x6986)
		case efSignCert:
			return sw(0x6982) // needs the signature PIN
		}
		return sw(0x6981) // key and PIN files cannot be read
	}
	want, ok, status := c.le(body)
	if !ok {
		return sw(status)
	}
	if offset >= len(file) {
		if c.cfg.Faults.EmptyEOF {
			return sw(0x9000)
		}
		return sw(0x6B00)
	}
	avail := len(file) - offset
	if lim := c.cfg.Faults.WrongLe; lim > 0 && want > min(avail, lim) {
		return sw(0x6C00 | uint16(min(avail, lim)&0xFF))
	}
	n := min(want, avail)
	if lim := c.cfg.Faults.ShortReads; lim > 0 {
		n = min(n, lim)
	}
	return c.respond(file[offset : offset+n])
}

func (c *Card) verify(p2 byte, body []byte) []byte {
	if c.surface {
		return c.verifyDOB(p2, body)
	}
	if c.assist {
		return c.verifyAssist(p2, body)
	}
	if c.selected && c.ef == efSignPIN && p2 == 0x80 {
		if len(body) == 0 {
			return sw(0x63C0 | signTries)
		}
		return sw(0x6A81) // the signature PIN is never used here
	}
	if !c.selected || c.ef != cardio.EFAuthPIN || p2 != 0x80 {
		return sw(0x6A88)
	}
	if len(body) == 0 { // tries left
		if c.tries == 0 {
			return sw(0x6983)
		}
		return sw(0x63C0 | uint16(c.tries))
	}
	if len(body) < 1 || int(body[0]) != len(body)-1 {
		return sw(0x6700)
	}
	if c.tries == 0 {
		return sw(0x6983)
	}
	if string(body[1:]) == c.cfg.PIN {
		c.tries, c.verified = MaxTries, true
		return sw(0x9000)
	}
	c.tries--
	c.verified = false
	return sw(0x63C0 | uint16(c.tries))
}

func (c *Card) sign(p1, p2 byte, body []byte) []byte {
	key := c.cfg.Key
	switch {
	case c.surface && p1 == 0x00 && p2 == 0x00: // the surface applet's card key, no credential
		key = c.cfg.Surface.CardKey
	case !c.selected || c.ef != cardio.EFAuthKey || p1 != 0x00 || p2 != 0x80:
		return sw(0x6A86)
	case !c.verified:
		return sw(0x6982)
	}
	if len(body) < 2 || int(body[0]) > len(body)-1 {
		return sw(0x6700)
	}
	digestInfo := body[1 : 1+int(body[0])]
	// crypto.Hash(0): the data is the DigestInfo itself; PKCS#1 v1.5 pads it.
	sig, err := rsa.SignPKCS1v15(nil, key, crypto.Hash(0), digestInfo)
	if err != nil {
		return sw(0x6A80)
	}
	return c.respond(sig)
}

// selectSurfaceEF selects a file of the card-surface applet.
func (c *Card) selectSurfaceEF(ef uint16) []byte {
	switch ef {
	case cardio.EFDOBKey, cardio.EFAgeRecord, cardio.EFSurfaceCVC:
		c.ef = ef
		return sw(0x9000)
	}
	return sw(0x6A82)
}

// readSurface reads the age record (once the date-of-birth key is
// verified) or the CVC.
func (c *Card) readSurface(offset int, body []byte) []byte {
	switch c.ef {
	case cardio.EFAgeRecord:
		if !c.dobOK {
			return sw(0x6982)
		}
		return c.read(c.cfg.Surface.AgeRecord, true, offset, body)
	case cardio.EFSurfaceCVC:
		return c.read(c.cfg.Surface.CVC, true, offset, body)
	}
	return sw(0x6981)
}

// verifyDOB answers VERIFY of the date-of-birth key: its tries left, or a
// check of the era-year YYMMDD.
func (c *Card) verifyDOB(p2 byte, body []byte) []byte {
	if c.ef != cardio.EFDOBKey || p2 != 0x80 {
		return sw(0x6A88)
	}
	switch {
	case c.dobTries == 0:
		return sw(0x6984)
	case len(body) == 0:
		return sw(0x63C0 | uint16(min(c.dobTries, 15)))
	case int(body[0]) != len(body)-1:
		return sw(0x6700)
	}
	if want, err := cardio.DOBKey(c.cfg.Surface.DOB); err == nil && string(body[1:]) == want {
		c.dobTries, c.dobOK = DOBTries, true
		return sw(0x9000)
	}
	c.dobTries--
	c.dobOK = false
	return sw(0x63C0 | uint16(min(c.dobTries, 15)))
}

// selectAssistEF selects a file of the input-assist applet: its PIN and
// the basic information. EF 0001 (the My Number) and EF 0003 exist on a
// real card; mykey must never select them, so here they are missing.
func (c *Card) selectAssistEF(ef uint16) []byte {
	switch ef {
	case cardio.EFAssistPIN, cardio.EFBasicInfo:
		c.ef = ef
		return sw(0x9000)
	}
	return sw(0x6A82)
}

// verifyAssist answers VERIFY of the input-assist PIN.
func (c *Card) verifyAssist(p2 byte, body []byte) []byte {
	if c.ef != cardio.EFAssistPIN || p2 != 0x80 {
		return sw(0x6A88)
	}
	switch {
	case c.assistTries == 0:
		return sw(0x6983)
	case len(body) == 0:
		return sw(0x63C0 | uint16(c.assistTries))
	case int(body[0]) != len(body)-1:
		return sw(0x6700)
	}
	if string(body[1:]) == c.cfg.Assist.PIN {
		c.assistTries, c.assistOK = MaxTries, true
		return sw(0x9000)
	}
	c.assistTries--
	c.assistOK = false
	return sw(0x63C0 | uint16(c.assistTries))
}
