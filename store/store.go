// Package store defines the MyKey registry: MyKey IDs, the certificates
// (as pseudonyms) that resolve to them, their links to library patron
// numbers, and an append-only audit log.
//
// The Registry interface has three implementations that pass one shared
// test suite (storetest): on a SQLite file for a single desk
// (store/sqlite), on PostgreSQL shared by several desks (store/postgres),
// and in memory for fast tests of the layers above (NewMemory). A desk of
// a shared registry uses a fourth, store/replica: taps read its local
// copy, changes go to the server.
package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mykey-jp/mykey/keyid"
)

// DefaultService is the service patron numbers are linked for unless another
// is named.
const DefaultService = "library"

// Sentinel errors returned by Registry implementations.
var (
	ErrNotFound        = errors.New("not found")
	ErrUnknownID       = errors.New("MyKey ID is not registered")
	ErrIDLinked        = errors.New("MyKey ID is already linked to another patron number")
	ErrPatronLinked    = errors.New("patron number is already linked to another MyKey ID")
	ErrCertRegistered  = errors.New("certificate is already registered to another MyKey ID")
	ErrInvalidArgument = errors.New("invalid argument")
	ErrCorrupt         = errors.New("registry database is corrupt or not a mykey database")
	ErrCannotOpen      = errors.New("registry database cannot be opened")
	ErrReadOnly        = errors.New("registry database is read-only")
	ErrBusy            = errors.New("registry database is locked by another process")
	ErrSchemaTooNew    = errors.New("registry database was written by a newer mykey")
	ErrNotInRoster     = errors.New("patron number is not on the library's roster")
	ErrPatronInactive  = errors.New("patron number is inactive or expired on the library's roster")
	ErrDuplicateID     = errors.New("MyKey ID repeats an earlier row of the batch")
	ErrDuplicatePatron = errors.New("patron number repeats an earlier row of the batch")
	ErrNotRegistry     = errors.New("not a mykey registry")
	ErrKeyMismatch     = errors.New("the registry belongs to another pseudonym key")
	ErrNoBackup        = errors.New("this registry cannot be backed up or restored by mykey")
	ErrOffline         = errors.New("the shared registry cannot be reached")
	ErrNotAllowed      = errors.New("this database role lacks the permission (a desk's role may not change the shared registry)")
)

// CertStatus is the state of a registered certificate.
type CertStatus string

// The states a certificate moves through.
const (
	CertActive     CertStatus = "active"     // the current certificate of its MyKey ID
	CertSuperseded CertStatus = "superseded" // replaced by a renewed certificate
	CertRevoked    CertStatus = "revoked"    // revoked by the CA
)

// Certificate is a registered certificate, known only by its pseudonym.
type Certificate struct {
	Pseudonym    keyid.Pseudonym
	MyKeyID      keyid.ID
	NotAfter     time.Time
	Status       CertStatus
	RegisteredAt time.Time
}

// Link ties a MyKey ID to a patron number for one service.
type Link struct {
	Service  string
	MyKeyID  keyid.ID
	Patron   string
	LinkedAt time.Time
}

// Entry is a MyKey ID with its link (if any) for one service.
type Entry struct {
	MyKeyID      keyid.ID
	CreatedAt    time.Time
	Link         *Link // nil when not linked for the service
	Certificates int   // active certificates
}

// AuditEntry is one line of the audit log. It never holds a patron number or
// an issuance number: MyKeyID and pseudonyms identify the subject.
type AuditEntry struct {
	Seq     int64
	At      time.Time
	User    string // OS user who acted
	Action  string // e.g. "link", "unlink", "id.new"
	MyKeyID keyid.ID
	Outcome string // "ok", or the reason it failed
	Detail  string // free text without personal data
	Hash    []byte // ChainHash over the previous entry's hash and this entry
}

// AuditQuery filters the audit log; zero fields match everything.
type AuditQuery struct {
	From, To time.Time // From inclusive, To exclusive
	Action   string
	MyKeyID  keyid.ID
	User     string // a part of the user recorded (OS user and console operator)
	Offset   int    // matching entries to skip, newest first
	Limit    int    // at most this many (0: all)
}

// AuditCountCap bounds the count of a search's matches: a search of a
// million entries answers "more than 1,000" fast instead of counting on.
const AuditCountCap = 1000

// NewestFirst orders audit entries as SearchAudit returns them.
func NewestFirst(a, b AuditEntry) int {
	if c := b.At.Compare(a.At); c != 0 {
		return c
	}
	return cmp.Compare(b.Seq, a.Seq)
}

// Match reports whether e matches q.
func (q AuditQuery) Match(e AuditEntry) bool {
	return (q.From.IsZero() || !e.At.Before(q.From)) && (q.To.IsZero() || e.At.Before(q.To)) &&
		(q.Action == "" || e.Action == q.Action) && (q.MyKeyID == "" || e.MyKeyID == q.MyKeyID) &&
		(q.User == "" || strings.Contains(e.User, q.User))
}

// Registration is a card's certificate to register.
type Registration struct {
	Pseudonym keyid.Pseudonym
	NotAfter  time.Time
	// MyKeyID attaches the certificate to this existing MyKey ID (a renewed
	// card). Empty: the MyKey ID of the certificate, or of the patron
	// number, or a new one.
	MyKeyID keyid.ID
	Service string
	Patron  string // normalised patron number to link; empty for none
	// Genuine, when not nil, makes what the genuine-card check keeps for
	// the MyKey ID the registration lands on (sealing binds it to the ID);
	// it replaces what the ID kept before, in the same transaction.
	Genuine func(keyid.ID) (Genuine, error)
}

// Genuine is what the genuine-card check keeps for a MyKey ID: only what
// its mode needs, sealed, and a keyed fingerprint of the card key.
type Genuine struct {
	Mode       string // "dob" or "card-key"
	DOB        []byte // sealed date of birth (mode dob)
	CardKey    []byte // sealed card public key (mode card-key)
	KeyFP      []byte // keyed fingerprint of the card public key
	CapturedAt time.Time
}

// Check reports a Genuine that the schema would refuse.
func (g Genuine) Check() error {
	switch {
	case g.Mode == "dob" && len(g.DOB) > 0 && len(g.CardKey) == 0,
		g.Mode == "card-key" && len(g.CardKey) > 0 && len(g.DOB) == 0:
	default:
		return fmt.Errorf("%w: genuine-card data of mode %q", ErrInvalidArgument, g.Mode)
	}
	if len(g.KeyFP) == 0 {
		return fmt.Errorf("%w: genuine-card data without the card key's fingerprint", ErrInvalidArgument)
	}
	return nil
}

// GenuineCount says how many linked MyKey IDs of a service have what the
// genuine-card check of a mode needs.
type GenuineCount struct {
	Linked  int // MyKey IDs linked for the service
	Missing int // of those, without the data for the mode
}

// Registered is what Register did.
type Registered struct {
	MyKeyID    keyid.ID
	Minted     bool // a new MyKey ID
	Superseded bool // an older certificate of the MyKey ID was superseded
	Linked     bool // the patron number was newly linked
	Genuine    bool // the genuine-card data was kept
}

// RosterRow is one patron number of the library's roster.
type RosterRow struct {
	Patron  string
	Active  bool
	Expires time.Time // zero: no expiry
}

// RosterOptions modify ImportRoster.
type RosterOptions struct {
	DryRun      bool // check only
	AllowShrink bool // the administrator confirmed a drastic shrink
}

// ErrRosterShrink means a roster import would empty the roster or remove
// more than half of it: likely the wrong file, and every patron number
// missing from it could no longer be linked.
var ErrRosterShrink = errors.New("the roster would shrink drastically")

// RosterShrinkError says by how much.
type RosterShrinkError struct{ Old, New int }

func (e *RosterShrinkError) Error() string {
	return fmt.Sprintf("%v: from %d to %d patrons", ErrRosterShrink, e.Old, e.New)
}

func (e *RosterShrinkError) Unwrap() error { return ErrRosterShrink }

// CheckShrink is the rule both registries apply to a roster import: a new
// roster of n patrons replacing one of old needs confirmation when it is
// empty or holds fewer than half as many.
func CheckShrink(old, n int, allow bool) error {
	if !allow && (n == 0 || 2*n < old) {
		return &RosterShrinkError{Old: old, New: n}
	}
	return nil
}

// Roster is a service's roster in memory, for checks.
type Roster map[string]RosterRow

// Check says whether patron may be linked on day now.
func (r Roster) Check(patron string, now time.Time) error {
	if r == nil {
		return nil
	}
	p, ok := r[patron]
	switch {
	case !ok:
		return ErrNotInRoster
	case !p.Active, !p.Expires.IsZero() && now.After(p.Expires.Add(24*time.Hour-time.Nanosecond)):
		return ErrPatronInactive
	}
	return nil
}

// BatchLink is one row of a links import.
type BatchLink struct {
	Line    int
	Service string
	MyKeyID keyid.ID
	Patron  string
}

// BatchResult is what ImportLinks found for one row: Outcome "linked",
// "unchanged", or the failure (Err is ErrUnknownID, ErrIDLinked,
// ErrPatronLinked, ErrDuplicateID, ErrDuplicatePatron or a roster error, and
// Outcome its audit code).
type BatchResult struct {
	Line    int
	Outcome string
	Err     error
	Earlier int // the line a duplicate repeats
}

// BatchOutcomes.
const (
	BatchLinked    = "linked"
	BatchUnchanged = "unchanged"
)

// BatchDetail summarises results for the audit log (counts only).
func BatchDetail(rs []BatchResult) string {
	n := map[string]int{}
	for _, r := range rs {
		n[r.Outcome]++
	}
	return fmt.Sprintf("rows=%d linked=%d unchanged=%d invalid=%d", len(rs), n[BatchLinked], n[BatchUnchanged], len(rs)-n[BatchLinked]-n[BatchUnchanged])
}

// linkState is the in-memory view of one service's links an import checks
// rows against: byID by ID.Key (number keys hash and compare faster than
// strings), byPatron giving the row. row is 1 + the index of the batch row
// that linked or confirmed the entry, 0 for a link the registry already had.
type linkState struct {
	byID     map[uint64]linkedPatron
	byPatron map[string]int
}

type linkedPatron struct {
	patron string
	row    int
}

// CheckBatch decides each row against known IDs and links, updating the
// state as valid rows link; shared by the implementations. links reports a
// service's existing links through add; it is called once per service.
func CheckBatch(rows []BatchLink, idKnown func(keyid.ID) bool, links func(service string, add func(keyid.ID, string)) error, patronOK func(service, patron string) error) ([]BatchResult, error) {
	states := map[string]*linkState{}
	out := make([]BatchResult, len(rows))
	for i, r := range rows {
		st := states[r.Service]
		if st == nil {
			// Sized for every row: growing a big map costs more than
			// the memory.
			st = &linkState{make(map[uint64]linkedPatron, len(rows)), make(map[string]int, len(rows))}
			if err := links(r.Service, func(id keyid.ID, patron string) {
				st.byID[id.Key()], st.byPatron[patron] = linkedPatron{patron, 0}, 0
			}); err != nil {
				return nil, err
			}
			states[r.Service] = st
		}
		res := BatchResult{Line: r.Line}
		key := r.MyKeyID.Key()
		cur, hasCur := st.byID[key]
		owner, taken := st.byPatron[r.Patron]
		rosterErr := patronOK(r.Service, r.Patron)
		switch {
		case hasCur && cur.row > 0:
			res.Err, res.Earlier = ErrDuplicateID, rows[cur.row-1].Line
		case taken && owner > 0:
			res.Err, res.Earlier = ErrDuplicatePatron, rows[owner-1].Line
		case !idKnown(r.MyKeyID):
			res.Err = ErrUnknownID
		case hasCur && cur.patron == r.Patron:
			res.Outcome = BatchUnchanged
		case rosterErr != nil:
			res.Err = rosterErr
		case hasCur:
			res.Err = ErrIDLinked
		case taken:
			res.Err = ErrPatronLinked
		default:
			res.Outcome = BatchLinked
		}
		if res.Err != nil {
			res.Outcome = Outcome(res.Err)
		} else {
			st.byID[key], st.byPatron[r.Patron] = linkedPatron{r.Patron, i + 1}, i+1
		}
		out[i] = res
	}
	return out, nil
}

// RegistrationTarget applies Register's rules, shared by the
// implementations: the certificate goes to r.MyKeyID (which the caller has
// found registered), else to the MyKey ID of r.Patron, else to the one
// already holding the certificate; "" means a new MyKey ID. patronOwner and
// certOwner are the current owners ("" for none); patronOf returns a MyKey
// ID's patron number for r.Service. newLink tells whether r.Patron would be
// newly linked (so the roster must admit it).
func RegistrationTarget(r Registration, patronOwner, certOwner keyid.ID, patronOf func(keyid.ID) (string, error)) (target keyid.ID, newLink bool, err error) {
	target = r.MyKeyID
	if r.Patron != "" && patronOwner != "" {
		if target == "" {
			target = patronOwner
		} else if target != patronOwner {
			return "", false, ErrPatronLinked
		}
	}
	if certOwner != "" {
		if target == "" {
			target = certOwner
		} else if target != certOwner {
			return "", false, ErrCertRegistered
		}
	}
	if r.Patron == "" {
		return target, false, nil
	}
	cur := ""
	if target != "" {
		if cur, err = patronOf(target); err != nil {
			return "", false, err
		}
	}
	if cur != "" && cur != r.Patron {
		return "", false, ErrIDLinked
	}
	return target, cur == "", nil
}

// LinkFacts are what a registry looks up, as it is needed, to decide a
// link of one MyKey ID to one patron number.
type LinkFacts struct {
	Exists  func() error             // nil when the MyKey ID is registered (else ErrUnknownID)
	Current func() (string, error)   // the MyKey ID's patron number for the service ("" for none)
	Roster  func() error             // the roster's verdict on the patron number
	Owner   func() (keyid.ID, error) // the MyKey ID the patron number is linked to ("" for none)
}

// LinkDecision is what a link does.
type LinkDecision struct {
	Change    bool     // write the link; false with no error: it is so already
	MovedFrom keyid.ID // the MyKey ID the patron number is taken from (a relink)
	Detail    string   // for the audit log ("" when nothing changes)
}

// DecideLink is the link rule both registries apply: the service and the
// patron number must be well formed, the MyKey ID registered; an existing
// identical link changes nothing; the roster must admit the patron number;
// without replace, neither side may be linked elsewhere. The caller writes
// the decision (removing both sides' old links) in the transaction that
// looked the facts up.
func DecideLink(service, patron string, replace bool, f LinkFacts) (LinkDecision, error) {
	d := LinkDecision{Detail: "service=" + service}
	if err := CheckService(service); err != nil {
		return d, err
	}
	if err := CheckPatron(patron); err != nil {
		return d, err
	}
	if err := f.Exists(); err != nil {
		return d, err
	}
	cur, err := f.Current()
	if err != nil {
		return LinkDecision{}, err
	}
	if cur == patron {
		return LinkDecision{}, nil
	}
	if err := f.Roster(); err != nil {
		return d, err
	}
	owner, err := f.Owner()
	if err != nil {
		return LinkDecision{}, err
	}
	switch {
	case !replace && cur != "":
		return d, ErrIDLinked
	case !replace && owner != "":
		return d, ErrPatronLinked
	case owner != "":
		d.MovedFrom, d.Detail = owner, d.Detail+" moved-from="+string(owner)
	}
	d.Change = true
	return d, nil
}

// LinkOptions modify Link.
type LinkOptions struct {
	// Replace removes the MyKey ID's current link and the patron number's
	// current link, if any, instead of failing with ErrIDLinked or
	// ErrPatronLinked (a relink).
	Replace bool
}

// Registry is the MyKey registry. Every method is safe for concurrent use,
// also from several processes on one database file. Each mutating method
// records an audit entry, for success and for failure, in the same transaction
// as its change; read methods record nothing (callers that act for an
// administrator call Audit).
type Registry interface {
	// NewID mints a fresh MyKey ID (randomness from the registry's options)
	// and records it.
	NewID(ctx context.Context) (keyid.ID, error)

	// Link links id to patron for service. It returns changed=false when
	// exactly this link exists already. Errors: ErrUnknownID, ErrIDLinked,
	// ErrPatronLinked (unless opts.Replace), ErrInvalidArgument.
	Link(ctx context.Context, service string, id keyid.ID, patron string, opts LinkOptions) (changed bool, err error)

	// UnlinkID removes the link of id for service and returns it.
	// ErrNotFound when there is none.
	UnlinkID(ctx context.Context, service string, id keyid.ID) (Link, error)

	// UnlinkPatron removes the link of patron for service and returns it.
	// ErrNotFound when there is none.
	UnlinkPatron(ctx context.Context, service, patron string) (Link, error)

	// LookupID returns the entry of id; ErrUnknownID if it is not registered.
	LookupID(ctx context.Context, service string, id keyid.ID) (Entry, error)

	// LookupPatron returns the entry linked to patron; ErrNotFound if none.
	LookupPatron(ctx context.Context, service, patron string) (Entry, error)

	// List returns every MyKey ID in the order of creation, with its link for
	// service.
	List(ctx context.Context, service string) ([]Entry, error)

	// AddCertificate registers c.Pseudonym for c.MyKeyID as its active
	// certificate; the MyKey ID's other active certificates become
	// superseded. Registering the same pseudonym for the same MyKey ID again
	// changes nothing. Errors: ErrUnknownID, ErrCertRegistered.
	AddCertificate(ctx context.Context, c Certificate) error

	// Register registers a card's certificate in one transaction: it finds
	// or mints the MyKey ID, makes the certificate its active one
	// (superseding the previous one: a renewed card keeps its MyKey ID), and
	// links the patron number if one is given. Nothing changes when it
	// fails. Errors: ErrUnknownID (r.MyKeyID not registered),
	// ErrCertRegistered (the certificate belongs to another MyKey ID),
	// ErrPatronLinked (the patron number belongs to another MyKey ID than
	// r.MyKeyID), ErrIDLinked (the MyKey ID is linked to another patron
	// number), ErrInvalidArgument.
	Register(ctx context.Context, r Registration) (Registered, error)

	// ImportLinks checks rows against the registry, in order and in one
	// transaction, as Link without Replace would, and links the valid ones.
	// It then calls keep with every row's result: the transaction commits
	// only if keep returns true, so a caller can make the import
	// all-or-nothing, skip invalid rows, or only validate. Rows already
	// linked as given are "unchanged". committed reports the outcome.
	ImportLinks(ctx context.Context, rows []BatchLink, keep func([]BatchResult) bool) (results []BatchResult, committed bool, err error)

	// ImportRoster replaces the roster of service with rows in one
	// transaction (nothing with opts.DryRun). From then on Link, Register
	// and ImportLinks refuse patron numbers that are not on it
	// (ErrNotInRoster) or are inactive or expired (ErrPatronInactive). A
	// roster that would shrink drastically is a *RosterShrinkError unless
	// opts.AllowShrink (CheckShrink).
	ImportRoster(ctx context.Context, service string, rows []RosterRow, opts RosterOptions) error

	// Certificate returns the certificate with pseudonym p; ErrNotFound if
	// it is not registered.
	Certificate(ctx context.Context, p keyid.Pseudonym) (Certificate, error)

	// Certificates returns the certificates registered to id, newest
	// registration first (none: an empty list).
	Certificates(ctx context.Context, id keyid.ID) ([]Certificate, error)

	// Genuine returns what the genuine-card check keeps for id;
	// ErrNotFound when it keeps nothing.
	Genuine(ctx context.Context, id keyid.ID) (Genuine, error)

	// CountGenuine counts the linked MyKey IDs of service that lack the
	// genuine-card data of mode.
	CountGenuine(ctx context.Context, service, mode string) (GenuineCount, error)

	// Audit appends e (At, User and Seq are filled in).
	Audit(ctx context.Context, e AuditEntry) error

	// AuditLog returns the newest limit entries, oldest first (all when
	// limit <= 0).
	AuditLog(ctx context.Context, limit int) ([]AuditEntry, error)

	// KeyBinding returns the fingerprint of the pseudonym key the registry
	// is bound to ("" before it is bound) and how many certificates it
	// holds (whose pseudonyms only that key reproduces).
	KeyBinding(ctx context.Context) (fingerprint string, certificates int, err error)

	// BindKey binds an unbound registry to the key with fingerprint; bound
	// to the same key it does nothing, bound to another it fails with
	// ErrKeyMismatch.
	BindKey(ctx context.Context, fingerprint string) error

	// SearchAudit returns the entries that match q, newest first (by time,
	// then by seq), one page of them, and how many match in all, up to
	// AuditCountCap+1 (more are not counted).
	SearchAudit(ctx context.Context, q AuditQuery) (page []AuditEntry, total int, err error)

	// ConsolePassword returns the hash of the console administrator's
	// password ("" when none is set); SetConsolePassword replaces it
	// (audited, without the hash).
	ConsolePassword(ctx context.Context) (string, error)
	SetConsolePassword(ctx context.Context, hash string) error

	// VerifyAudit checks the audit log's hash chain from its first entry
	// and returns how many entries it checked; a break is an
	// *AuditBreakError (ErrAuditBroken).
	VerifyAudit(ctx context.Context) (entries int, err error)

	// Close releases the registry.
	Close() error
}

// StreamImporter is a Registry that imports links while they are still
// being parsed: rows is called inside the import's transaction, in
// parallel with loading what the checks need, and progress (may be nil)
// after each chunk written. Otherwise as ImportLinks.
type StreamImporter interface {
	ImportLinksFrom(ctx context.Context, rows func() ([]BatchLink, error), keep func([]BatchResult) bool, progress func(written, total int)) ([]BatchResult, bool, error)
}

// Backuper is a Registry that backs itself up to a file and restores from
// one. Backup refuses an existing file (fs.ErrExist) and verifies what it
// wrote; Restore rebuilds the backup under this version's schema and
// refuses a file that is not a sound registry (ErrNotRegistry, ErrCorrupt)
// or belongs to another key (ErrKeyMismatch), leaving the registry as it
// was.
type Backuper interface {
	Backup(ctx context.Context, path string) error
	Restore(ctx context.Context, path string) (RestoreReport, error)
}

// RestoreReport says what a backup held and what a restore made of it.
type RestoreReport struct {
	Version int            // the backup's schema version
	Rows    map[string]int // rows restored, by table
	Ignored []string       // schema objects that are not mykey's ("trigger x on links"): not restored
	Key     string         // the fingerprint of the pseudonym key the backup is bound to ("" for none)
}

// Options configure a Registry.
type Options struct {
	Clock func() time.Time         // time.Now when nil
	Mint  func() (keyid.ID, error) // keyid.New(crypto/rand) when nil
	User  string                   // OS user recorded in the audit log
}

// Time returns the current time in UTC, to the second (the registry's
// resolution).
func (o Options) Time() time.Time {
	t := time.Now()
	if o.Clock != nil {
		t = o.Clock()
	}
	return t.UTC().Truncate(time.Second)
}

// NewID mints a MyKey ID.
func (o Options) NewID() (keyid.ID, error) {
	if o.Mint != nil {
		return o.Mint()
	}
	return keyid.New(nil)
}

// Outcome turns an error into the outcome text of an audit entry.
func Outcome(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, ErrUnknownID):
		return "unknown-id"
	case errors.Is(err, ErrIDLinked):
		return "id-linked"
	case errors.Is(err, ErrPatronLinked):
		return "patron-linked"
	case errors.Is(err, ErrCertRegistered):
		return "cert-registered"
	case errors.Is(err, ErrNotFound):
		return "not-found"
	case errors.Is(err, ErrInvalidArgument):
		return "invalid"
	case errors.Is(err, ErrNotInRoster):
		return "not-in-roster"
	case errors.Is(err, ErrPatronInactive):
		return "inactive"
	case errors.Is(err, ErrDuplicateID):
		return "duplicate-id"
	case errors.Is(err, ErrDuplicatePatron):
		return "duplicate-patron"
	case errors.Is(err, ErrKeyMismatch):
		return "key-mismatch"
	case errors.Is(err, ErrRosterShrink):
		return "roster-shrink"
	case errors.Is(err, ErrOffline):
		return "offline"
	}
	return "error"
}

// Audit actions: every action the audit log records, by the registries
// themselves or by the layers above.
const (
	ActionNewID        = "id.new"
	ActionLink         = "link"
	ActionRelink       = "relink"
	ActionUnlink       = "unlink"
	ActionAddCert      = "cert.add"
	ActionRegister     = "register"
	ActionImportLinks  = "import.links"
	ActionImportRoster = "import.patrons"
	ActionExportLinks  = "export.links"
	ActionLookup       = "lookup"
	ActionList         = "list"
	ActionScan         = "scan" // a card held up at the desk
	ActionBackup       = "backup"
	ActionRestore      = "restore"
	ActionBindKey      = "key.bind"
	ActionPassword     = "console.password"
	ActionNote         = "note" // a remark about an action, e.g. the reason for a relink
)

// CheckService validates a service name.
func CheckService(s string) error {
	if s == "" || len(s) > 64 {
		return errors.Join(ErrInvalidArgument, errors.New("service name must be 1 to 64 characters"))
	}
	return nil
}

// CheckPatron checks that a patron number fits the registry (the
// configured rule is applied by the caller).
func CheckPatron(p string) error {
	if p == "" || len(p) > 64 {
		return errors.Join(ErrInvalidArgument, errors.New("patron number must be 1 to 64 characters"))
	}
	return nil
}

// RegisterDetail describes a registration for the audit log (no patron
// number: only whether one was linked).
func RegisterDetail(r Registration, res Registered) string {
	return fmt.Sprintf("service=%s pseudonym=%s minted=%t superseded=%t linked=%t genuine=%t", r.Service, r.Pseudonym.Short(), res.Minted, res.Superseded, res.Linked, res.Genuine)
}

// MaxIDAttempts bounds retries when a freshly minted MyKey ID collides.
const MaxIDAttempts = 16

// ImportSource is what an import reads from its registry, inside the
// import's transaction.
type ImportSource struct {
	// IDs returns every registered MyKey ID concatenated (IDs are
	// keyid.IDLen symbols each): one round trip for a million.
	IDs func() (string, error)
	// Links reports a service's existing links through add.
	Links func(service string, add func(keyid.ID, string)) error
	// Roster returns a service's roster (nil when it has none).
	Roster func(service string) (Roster, error)
}

// PlanImport is the part of ImportLinksFrom both registries share: it
// parses (rowsFn) while the MyKey IDs load on the other core, checks every
// row with CheckBatch on day now, and returns the rows, their results and,
// when keep accepts the results, the indexes of the rows to insert in
// MyKey ID order (so indexes fill in key order); insert is nil when keep
// refuses.
func PlanImport(rowsFn func() ([]BatchLink, error), src ImportSource, now time.Time, keep func([]BatchResult) bool) (rows []BatchLink, results []BatchResult, insert []int32, err error) {
	var ids map[uint64]struct{} // by ID.Key
	loaded := make(chan error, 1)
	go func() {
		all, err := src.IDs()
		ids = make(map[uint64]struct{}, len(all)/keyid.IDLen)
		for i := 0; i+keyid.IDLen <= len(all); i += keyid.IDLen {
			ids[keyid.ID(all[i:i+keyid.IDLen]).Key()] = struct{}{}
		}
		loaded <- err
	}()
	rows, err = rowsFn()
	if lerr := <-loaded; lerr != nil {
		return nil, nil, nil, lerr
	}
	if err != nil {
		return nil, nil, nil, err
	}
	var rosterErr error
	rosters := map[string]Roster{}
	results, err = CheckBatch(rows,
		func(id keyid.ID) bool { _, ok := ids[id.Key()]; return ok },
		src.Links,
		func(service, patron string) error {
			r, ok := rosters[service]
			if !ok {
				var err error
				if r, err = src.Roster(service); err != nil {
					rosterErr = err
				}
				rosters[service] = r
			}
			return r.Check(patron, now)
		})
	if err == nil {
		err = rosterErr
	}
	if err != nil || !keep(results) {
		return rows, results, nil, err
	}
	type pos struct {
		key uint64
		i   int32
	}
	order := make([]pos, 0, len(rows))
	for i, r := range results {
		if r.Outcome == BatchLinked {
			order = append(order, pos{rows[i].MyKeyID.Key(), int32(i)})
		}
	}
	slices.SortFunc(order, func(a, b pos) int { return cmp.Or(cmp.Compare(a.key, b.key), cmp.Compare(a.i, b.i)) })
	insert = make([]int32, len(order))
	for j, p := range order {
		insert[j] = p.i
	}
	return rows, results, insert, nil
}
