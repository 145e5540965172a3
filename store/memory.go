package store

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/mykey-jp/mykey/keyid"
)

// Memory is a Registry held in memory, for tests of the layers above. It
// behaves as the SQLite registry does, without persistence.
type Memory struct {
	opts    Options
	mu      sync.Mutex
	ids     []memID
	index   map[keyid.ID]int
	certs   map[keyid.Pseudonym]Certificate
	links   map[string]map[keyid.ID]Link // service → id → link
	audit   []AuditEntry
	roster  map[string]Roster // service → roster, when loaded
	key     string            // the bound pseudonym key's fingerprint
	passwd  string            // the console password's hash
	genuine map[keyid.ID]Genuine
}

type memID struct {
	id      keyid.ID
	created time.Time
}

// NewMemory returns an empty in-memory registry.
func NewMemory(opts Options) *Memory {
	return &Memory{
		opts:    opts,
		index:   map[keyid.ID]int{},
		certs:   map[keyid.Pseudonym]Certificate{},
		links:   map[string]map[keyid.ID]Link{},
		genuine: map[keyid.ID]Genuine{},
	}
}

var _ Registry = (*Memory)(nil)

func (m *Memory) record(action string, id keyid.ID, err error, detail string) {
	m.append(AuditEntry{Action: action, MyKeyID: id, Outcome: Outcome(err), Detail: detail})
}

// append adds e to the audit log with its sequence number, time, user and
// chain hash.
func (m *Memory) append(e AuditEntry) {
	var prev []byte
	if n := len(m.audit); n > 0 {
		prev = m.audit[n-1].Hash
	}
	e.Seq, e.At, e.User = int64(len(m.audit)+1), m.opts.Time(), m.opts.User
	e.Hash = ChainHash(prev, e)
	m.audit = append(m.audit, e)
}

// NewID implements Registry.
func (m *Memory) NewID(ctx context.Context) (keyid.ID, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for range MaxIDAttempts {
		id, err := m.opts.NewID()
		if err != nil {
			return "", err
		}
		if _, dup := m.index[id]; dup {
			continue
		}
		m.index[id] = len(m.ids)
		m.ids = append(m.ids, memID{id, m.opts.Time()})
		m.record(ActionNewID, id, nil, "")
		return id, nil
	}
	return "", fmt.Errorf("minting a MyKey ID: %d collisions in a row", MaxIDAttempts)
}

func (m *Memory) patronOwner(service, patron string) (Link, bool) {
	for _, l := range m.links[service] {
		if l.Patron == patron {
			return l, true
		}
	}
	return Link{}, false
}

// Link implements Registry.
func (m *Memory) Link(ctx context.Context, service string, id keyid.ID, patron string, opts LinkOptions) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	action := ActionLink
	if opts.Replace {
		action = ActionRelink
	}
	changed, detail, err := m.link(service, id, patron, opts)
	if err != nil || changed {
		m.record(action, id, err, detail)
	}
	return changed, err
}

func (m *Memory) link(service string, id keyid.ID, patron string, opts LinkOptions) (bool, string, error) {
	d, err := DecideLink(service, patron, opts.Replace, LinkFacts{
		Exists: func() error {
			if _, ok := m.index[id]; !ok {
				return ErrUnknownID
			}
			return nil
		},
		Current: func() (string, error) { return m.links[service][id].Patron, nil },
		Roster:  func() error { return m.roster[service].Check(patron, m.opts.Time()) },
		Owner: func() (keyid.ID, error) {
			owner, _ := m.patronOwner(service, patron)
			return owner.MyKeyID, nil
		},
	})
	if err != nil || !d.Change {
		return false, d.Detail, err
	}
	if d.MovedFrom != "" {
		delete(m.links[service], d.MovedFrom)
	}
	if m.links[service] == nil {
		m.links[service] = map[keyid.ID]Link{}
	}
	m.links[service][id] = Link{Service: service, MyKeyID: id, Patron: patron, LinkedAt: m.opts.Time()}
	return true, d.Detail, nil
}

// UnlinkID implements Registry.
func (m *Memory) UnlinkID(ctx context.Context, service string, id keyid.ID) (Link, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l, ok := m.links[service][id]
	var err error
	if !ok {
		err = ErrNotFound
	} else {
		delete(m.links[service], id)
	}
	m.record(ActionUnlink, id, err, "service="+service)
	return l, err
}

// UnlinkPatron implements Registry.
func (m *Memory) UnlinkPatron(ctx context.Context, service, patron string) (Link, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l, ok := m.patronOwner(service, patron)
	var err error
	if !ok {
		err = ErrNotFound
	} else {
		delete(m.links[service], l.MyKeyID)
	}
	m.record(ActionUnlink, l.MyKeyID, err, "service="+service)
	return l, err
}

func (m *Memory) entry(service string, i int) Entry {
	e := Entry{MyKeyID: m.ids[i].id, CreatedAt: m.ids[i].created}
	if l, ok := m.links[service][e.MyKeyID]; ok {
		e.Link = &l
	}
	for _, c := range m.certs {
		if c.MyKeyID == e.MyKeyID && c.Status == CertActive {
			e.Certificates++
		}
	}
	return e
}

// LookupID implements Registry.
func (m *Memory) LookupID(ctx context.Context, service string, id keyid.ID) (Entry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	i, ok := m.index[id]
	if !ok {
		return Entry{}, ErrUnknownID
	}
	return m.entry(service, i), nil
}

// LookupPatron implements Registry.
func (m *Memory) LookupPatron(ctx context.Context, service, patron string) (Entry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l, ok := m.patronOwner(service, patron)
	if !ok {
		return Entry{}, ErrNotFound
	}
	return m.entry(service, m.index[l.MyKeyID]), nil
}

// List implements Registry.
func (m *Memory) List(ctx context.Context, service string) ([]Entry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Entry, len(m.ids))
	for i := range m.ids {
		out[i] = m.entry(service, i)
	}
	return out, nil
}

// AddCertificate implements Registry.
func (m *Memory) AddCertificate(ctx context.Context, c Certificate) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	err := m.addCertificate(c)
	m.record(ActionAddCert, c.MyKeyID, err, "pseudonym="+c.Pseudonym.Short())
	return err
}

func (m *Memory) addCertificate(c Certificate) error {
	if _, ok := m.index[c.MyKeyID]; !ok {
		return ErrUnknownID
	}
	if old, ok := m.certs[c.Pseudonym]; ok {
		if old.MyKeyID != c.MyKeyID {
			return ErrCertRegistered
		}
		if old.Status == CertActive {
			return nil
		}
	}
	for p, o := range m.certs {
		if o.MyKeyID == c.MyKeyID && o.Status == CertActive {
			o.Status = CertSuperseded
			m.certs[p] = o
		}
	}
	c.Status = CertActive
	c.NotAfter = c.NotAfter.UTC().Truncate(time.Second)
	c.RegisteredAt = m.opts.Time()
	m.certs[c.Pseudonym] = c
	return nil
}

// Register implements Registry.
func (m *Memory) Register(ctx context.Context, r Registration) (Registered, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	res, err := m.register(r)
	m.record(ActionRegister, res.MyKeyID, err, RegisterDetail(r, res))
	return res, err
}

func (m *Memory) register(r Registration) (Registered, error) {
	var res Registered
	if err := CheckService(r.Service); err != nil {
		return res, err
	}
	if r.MyKeyID != "" {
		if _, ok := m.index[r.MyKeyID]; !ok {
			return res, ErrUnknownID
		}
	}
	var patronOwner, certOwner keyid.ID
	if l, ok := m.patronOwner(r.Service, r.Patron); ok && r.Patron != "" {
		patronOwner = l.MyKeyID
	}
	if c, ok := m.certs[r.Pseudonym]; ok {
		certOwner = c.MyKeyID
	}
	target, newLink, err := RegistrationTarget(r, patronOwner, certOwner, func(id keyid.ID) (string, error) {
		return m.links[r.Service][id].Patron, nil
	})
	if err != nil {
		return res, err
	}
	if newLink {
		if err := m.roster[r.Service].Check(r.Patron, m.opts.Time()); err != nil {
			return res, err
		}
	}
	if target == "" {
		for range MaxIDAttempts {
			id, err := m.opts.NewID()
			if err != nil {
				return res, err
			}
			if _, dup := m.index[id]; !dup {
				target = id
				break
			}
		}
		if target == "" {
			return res, fmt.Errorf("minting a MyKey ID: %d collisions in a row", MaxIDAttempts)
		}
		res.Minted = true
	}
	var g Genuine
	if r.Genuine != nil { // before any change: nothing changes when it fails
		var err error
		if g, err = r.Genuine(target); err == nil {
			err = g.Check()
		}
		if err != nil {
			return Registered{}, err
		}
	}
	if res.Minted {
		m.index[target] = len(m.ids)
		m.ids = append(m.ids, memID{target, m.opts.Time()})
	}
	res.MyKeyID = target
	for _, o := range m.certs {
		if o.MyKeyID == target && o.Status == CertActive && o.Pseudonym != r.Pseudonym {
			res.Superseded = true
		}
	}
	if err := m.addCertificate(Certificate{Pseudonym: r.Pseudonym, MyKeyID: target, NotAfter: r.NotAfter}); err != nil {
		return res, err
	}
	if newLink {
		if _, _, err := m.link(r.Service, target, r.Patron, LinkOptions{}); err != nil {
			return res, err
		}
		res.Linked = true
	}
	if r.Genuine != nil {
		g.CapturedAt = m.opts.Time()
		m.genuine[target] = g
		res.Genuine = true
	}
	return res, nil
}

// Genuine implements Registry.
func (m *Memory) Genuine(ctx context.Context, id keyid.ID) (Genuine, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	g, ok := m.genuine[id]
	if !ok {
		return g, ErrNotFound
	}
	return g, nil
}

// CountGenuine implements Registry.
func (m *Memory) CountGenuine(ctx context.Context, service, mode string) (GenuineCount, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var c GenuineCount
	for id := range m.links[service] {
		c.Linked++
		if m.genuine[id].Mode != mode {
			c.Missing++
		}
	}
	return c, nil
}

// ImportLinks implements Registry.
func (m *Memory) ImportLinks(ctx context.Context, rows []BatchLink, keep func([]BatchResult) bool) ([]BatchResult, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	res, _ := CheckBatch(rows,
		func(id keyid.ID) bool { _, ok := m.index[id]; return ok },
		func(service string, add func(keyid.ID, string)) error {
			for id, l := range m.links[service] {
				add(id, l.Patron)
			}
			return nil
		},
		func(service, patron string) error { return m.roster[service].Check(patron, m.opts.Time()) })
	if !keep(res) {
		return res, false, nil
	}
	for i, r := range res {
		if r.Outcome == BatchLinked {
			row := rows[i]
			if m.links[row.Service] == nil {
				m.links[row.Service] = map[keyid.ID]Link{}
			}
			m.links[row.Service][row.MyKeyID] = Link{Service: row.Service, MyKeyID: row.MyKeyID, Patron: row.Patron, LinkedAt: m.opts.Time()}
		}
	}
	m.record(ActionImportLinks, "", nil, BatchDetail(res))
	return res, true, nil
}

// ImportRoster implements Registry.
func (m *Memory) ImportRoster(ctx context.Context, service string, rows []RosterRow, opts RosterOptions) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := CheckService(service); err != nil {
		return err
	}
	if err := CheckShrink(len(m.roster[service]), len(rows), opts.AllowShrink); err != nil {
		m.record(ActionImportRoster, "", err, "service="+service)
		return err
	}
	if opts.DryRun {
		return nil
	}
	r := make(Roster, len(rows))
	for _, row := range rows {
		r[row.Patron] = row
	}
	if m.roster == nil {
		m.roster = map[string]Roster{}
	}
	m.roster[service] = r
	m.record(ActionImportRoster, "", nil, fmt.Sprintf("service=%s patrons=%d", service, len(rows)))
	return nil
}

// Certificate implements Registry.
func (m *Memory) Certificate(ctx context.Context, p keyid.Pseudonym) (Certificate, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.certs[p]
	if !ok {
		return Certificate{}, ErrNotFound
	}
	return c, nil
}

// Certificates implements Registry.
func (m *Memory) Certificates(_ context.Context, id keyid.ID) ([]Certificate, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Certificate
	for _, c := range m.certs {
		if c.MyKeyID == id {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b Certificate) int {
		if c := b.RegisteredAt.Compare(a.RegisteredAt); c != 0 {
			return c
		}
		return bytes.Compare(b.Pseudonym[:], a.Pseudonym[:])
	})
	return out, nil
}

// Audit implements Registry.
func (m *Memory) Audit(ctx context.Context, e AuditEntry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.append(AuditEntry{Action: e.Action, MyKeyID: e.MyKeyID, Outcome: e.Outcome, Detail: e.Detail})
	return nil
}

// VerifyAudit implements Registry.
func (m *Memory) VerifyAudit(ctx context.Context) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.audit), VerifyChain(m.audit)
}

// AuditLog implements Registry.
func (m *Memory) AuditLog(ctx context.Context, limit int) ([]AuditEntry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a := m.audit
	if limit > 0 && len(a) > limit {
		a = a[len(a)-limit:]
	}
	return slices.Clone(a), nil
}

// Close implements Registry.
func (m *Memory) Close() error { return nil }

// KeyBinding implements Registry.
func (m *Memory) KeyBinding(ctx context.Context) (string, int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.key, len(m.certs), nil
}

// BindKey implements Registry.
func (m *Memory) BindKey(ctx context.Context, fingerprint string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch m.key {
	case fingerprint:
		return nil
	case "":
		m.key = fingerprint
		m.record(ActionBindKey, "", nil, "fingerprint="+fingerprint)
		return nil
	}
	err := fmt.Errorf("%w: bound to key %s, not %s", ErrKeyMismatch, m.key, fingerprint)
	m.record(ActionBindKey, "", err, "")
	return err
}

// ConsolePassword implements Registry.
func (m *Memory) ConsolePassword(context.Context) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.passwd, nil
}

// SetConsolePassword implements Registry.
func (m *Memory) SetConsolePassword(_ context.Context, hash string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if hash == "" {
		err := fmt.Errorf("%w: empty password hash", ErrInvalidArgument)
		m.record(ActionPassword, "", err, "")
		return err
	}
	m.passwd = hash
	m.record(ActionPassword, "", nil, "")
	return nil
}

// SearchAudit implements Registry.
func (m *Memory) SearchAudit(_ context.Context, q AuditQuery) (page []AuditEntry, total int, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	log := slices.Clone(m.audit)
	slices.SortStableFunc(log, NewestFirst)
	n := 0
	for _, e := range log {
		if q.Match(e) {
			if n >= q.Offset && (q.Limit == 0 || len(page) < q.Limit) {
				page = append(page, e)
			}
			n++
		}
	}
	return page, min(n, AuditCountCap+1), nil
}
