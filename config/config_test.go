package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestTemplateIsValidAndComplete(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mykey.toml")
	c, err := Parse(path, []byte(Template(path)))
	if err != nil {
		t.Fatalf("template does not pass its own check:\n%v", err)
	}
	want := Default()
	want.File, want.lines, want.managed = path, c.lines, c.managed
	if !reflect.DeepEqual(c, want) {
		t.Errorf("template values differ from Default():\n got %+v\nwant %+v", c, want)
	}
	// Every key of the schema appears in the template.
	lines := keyLines(Template(path))
	var walk func(reflect.Type, string)
	walk = func(rt reflect.Type, prefix string) {
		for i := 0; i < rt.NumField(); i++ {
			tag := rt.Field(i).Tag.Get("toml")
			if tag == "-" || !rt.Field(i).IsExported() {
				continue
			}
			if _, ok := lines[prefix+tag]; !ok {
				t.Errorf("template lacks %s", prefix+tag)
			}
			if rt.Field(i).Type.Kind() == reflect.Struct {
				walk(rt.Field(i).Type, prefix+tag+".")
			}
		}
	}
	walk(reflect.TypeOf(Config{}), "")
}

func problems(t *testing.T, src string) []Problem {
	t.Helper()
	_, err := Parse("m.toml", []byte(src))
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("Parse(%q) = %v, want *Error", src, err)
	}
	return ce.Problems
}

func TestProblemsNameLineAndKey(t *testing.T) {
	tests := []struct {
		name, src string
		want      []Problem
	}{
		{"unknown key", "lang = \"ja\"\n[wedge]\nkey_dleay_ms = 5\n",
			[]Problem{{Line: 3, Key: "wedge.key_dleay_ms", Msg: `unknown key (did you mean "wedge.key_delay_ms"?)`}}},
		{"unknown table", "\n[wegde]\noutput = \"stdout\"\n",
			[]Problem{{Line: 2, Key: "wegde", Msg: `unknown key (did you mean "wedge"?)`}}},
		{"wrong type", "[wedge]\nkey_delay_ms = \"5\"\n",
			[]Problem{{Line: 2, Key: "wedge.key_delay_ms", Msg: "want integer, got string"}}},
		{"wrong array element", "[readers]\ninclude = [1]\n",
			[]Problem{{Line: 2, Key: "readers.include", Msg: "want array of strings, got array"}}},
		{"table as value", "database = 3\n",
			[]Problem{{Line: 1, Key: "database", Msg: "want table, got integer"}}},
		{"several at once", "lang = 1\n[log]\nlevel = true\nsize = 3\n",
			[]Problem{
				{Line: 1, Key: "lang", Msg: "want string, got integer"},
				{Line: 3, Key: "log.level", Msg: "want string, got boolean"},
				{Line: 4, Key: "log.size", Msg: "unknown key"},
			}},
		{"bad values", "lang = \"fr\"\n[wedge]\ntemplate = \"{patron}{esc}\"\nkey_delay_ms = -1\n[revocation]\nmethod = \"ldap\"\nocsp_url = \"ftp://x\"\n",
			[]Problem{
				{Line: 1, Key: "lang", Msg: `"fr" is not one of ja, en`},
				{Line: 3, Key: "wedge.template", Msg: `template "{patron}{esc}": unknown placeholder (known: {patron} {tab} {enter} {f1}…{f12} {ctrl+…} {alt+…} {shift+…})`},
				{Line: 4, Key: "wedge.key_delay_ms", Msg: "-1 is outside 0..1000"},
				{Line: 6, Key: "revocation.method", Msg: `"ldap" is not one of ocsp, crl, ocsp-then-crl`},
				{Line: 7, Key: "revocation.ocsp_url", Msg: `"ftp://x" is not an http, https or ldap URL`},
			}},
		{"relative TLS file", "[database]\nurl = \"postgres://desk@db.example.lg.jp/mykey?sslmode=verify-full&sslrootcert=certs/ca.pem\"\n",
			[]Problem{{Line: 2, Key: "database.url", Msg: "sslrootcert=certs/ca.pem: give the file's full path"}}},
		{"bad pattern", "[patron]\npattern = '[0-9'\n",
			[]Problem{{Line: 2, Key: "patron.pattern"}}},
		{"syntax", "lang = \"ja\"\nlevel = info\n",
			[]Problem{{Line: 2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := problems(t, tt.src)
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i, w := range tt.want {
				g := got[i]
				if g.File != "m.toml" || g.Line != w.Line || g.Key != w.Key || (w.Msg != "" && g.Msg != w.Msg) {
					t.Errorf("problem %d = %+v, want %+v", i, g, w)
				}
			}
		})
	}
}

func TestLoadResolvesPaths(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "mykey.toml")
	os.WriteFile(path, []byte("\xef\xbb\xbf[database]\npath = \"data/r.db\"\n[revocation]\ntrust_anchors = [\"ca/2019.der\"]\n"), 0o644)
	c, err := Load(path, false)
	if err != nil {
		t.Fatal(err)
	}
	if c.Database.Path != filepath.Join(dir, "data", "r.db") {
		t.Errorf("database path %s", c.Database.Path)
	}
	if c.KeyFile.Path != filepath.Join(dir, "pseudonym.key") {
		t.Errorf("key file path %s", c.KeyFile.Path)
	}
	if c.Revocation.TrustAnchors[0] != filepath.Join(dir, "ca", "2019.der") {
		t.Errorf("trust anchor %s", c.Revocation.TrustAnchors[0])
	}
	if c.Log.Dir != DefaultLocations().LogDir {
		t.Errorf("log dir %s", c.Log.Dir)
	}
}

func TestLoadMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "none.toml")
	if _, err := Load(path, false); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("required missing file: %v", err)
	}
	c, err := Load(path, true)
	if err != nil || c.Lang != "ja" {
		t.Errorf("optional missing file: %+v, %v", c, err)
	}
}

func TestProblemString(t *testing.T) {
	s := Problem{File: "a.toml", Line: 3, Key: "wedge.x", Msg: "unknown key"}.String()
	if s != "a.toml:3: wedge.x: unknown key" {
		t.Errorf("%q", s)
	}
	if !strings.HasPrefix(Problem{File: "a.toml", Msg: "m"}.String(), "a.toml: m") {
		t.Error("no line")
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(Template("/tmp/x.toml")))
	f.Add([]byte("[wedge]\nkey_delay_ms = \"5\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("f.toml", data)
		if err == nil && c == nil {
			t.Fatal("nil config without error")
		}
	})
}

func TestFromExample(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "mykey.toml")
	if created, err := FromExample(path); created || err != nil {
		t.Fatalf("without a template: %v %v", created, err)
	}
	os.WriteFile(filepath.Join(dir, "mykey.example.toml"), []byte(Template(path)), 0o644)
	if created, err := FromExample(path); !created || err != nil {
		t.Fatalf("from the template: %v %v", created, err)
	}
	os.WriteFile(path, []byte("lang = \"en\"\n"), 0o644)
	if created, _ := FromExample(path); created {
		t.Fatal("an existing configuration was replaced")
	}
	if b, _ := os.ReadFile(path); string(b) != "lang = \"en\"\n" {
		t.Fatalf("configuration changed: %q", b)
	}
}

// TestGenuine: mode "off" needs the acknowledgement in words; authorities
// need "ID=FILE"; test keys need test_keys.
func TestGenuine(t *testing.T) {
	for _, tt := range []struct{ body, want string }{
		{"[genuine]\nmode = \"off\"\n", "off_acknowledgement"},
		{"[genuine]\nmode = \"off\"\noff_acknowledgement = \"yes\"\n", "off_acknowledgement"},
		{"[genuine]\nmode = \"off\"\noff_acknowledgement = \"" + OffPhraseJA + "\"\n", ""},
		{"[genuine]\nmode = \"off\"\noff_acknowledgement = \"" + OffPhraseEN + "\"\n", ""},
		{"[genuine]\nmode = \"pin\"\n", "genuine.mode"},
		{"[genuine]\nauthorities = [\"cvc.pem\"]\n", "KEY ID=FILE"},
		{"[genuine]\nauthorities = [\"500002/001=cvc.pem\"]\n", "KEY ID=FILE"},
		{"[genuine]\nauthorities = [\"6000023/001=cvc.pem\"]\n", "test_keys"},
		{"[genuine]\nauthorities = [\"6000023/001=cvc.pem\"]\ntest_keys = true\n", ""},
		{"[genuine]\nmode = \"card-key\"\nauthorities = [\"5000023/001=cvc.pem\"]\n", ""},
	} {
		path := filepath.Join(t.TempDir(), "mykey.toml")
		os.WriteFile(path, []byte(tt.body), 0o600)
		c, err := Load(path, false)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%q: %v", tt.body, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%q: error %v, want one naming %s", tt.body, err, tt.want)
		case err == nil && len(c.Genuine.Authorities) > 0 && !strings.HasSuffix(c.Genuine.Authorities[0], "="+filepath.Join(filepath.Dir(path), "cvc.pem")):
			t.Errorf("%q: authority file not resolved: %v", tt.body, c.Genuine.Authorities)
		}
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestDropInsOverrideTheFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "mykey.toml")
	write(t, path, "lang = \"ja\"\n[wedge]\ntemplate = \"{patron}{enter}\"\nkey_delay_ms = 5\n")
	write(t, filepath.Join(dir, "mykey.d", "10-fleet.toml"), "[wedge]\ntemplate = \"{f2}{patron}{tab}\"\nallow_exe = [\"ils.exe\"]\n")
	write(t, filepath.Join(dir, "mykey.d", "20-branch.toml"), "# the branch's own\n[wedge]\nallow_exe = [\"opac.exe\"]\n")
	write(t, filepath.Join(dir, "mykey.d", "notes.txt"), "not a drop-in")
	c, err := Load(path, false)
	if err != nil {
		t.Fatal(err)
	}
	if c.Wedge.Template != "{f2}{patron}{tab}" || !reflect.DeepEqual(c.Wedge.AllowExe, []string{"opac.exe"}) || c.Wedge.KeyDelayMS != 5 || c.Lang != "ja" {
		t.Errorf("merged wedge = %+v", c.Wedge)
	}
	want := []Setting{
		{Key: "wedge.allow_exe", From: filepath.Join(dir, "mykey.d", "20-branch.toml") + ":3"},
		{Key: "wedge.template", From: filepath.Join(dir, "mykey.d", "10-fleet.toml") + ":2"},
	}
	if got := c.Managed(); !reflect.DeepEqual(got, want) {
		t.Errorf("Managed() = %v, want %v", got, want)
	}

	// A bad managed value is reported where it was set.
	write(t, filepath.Join(dir, "mykey.d", "30-bad.toml"), "\n[wedge]\nkey_delay_ms = 99999\nsound = \"yes\"\n")
	_, err = Load(path, false)
	var ce *Error
	if !errors.As(err, &ce) || len(ce.Problems) != 1 || ce.Problems[0].File != filepath.Join(dir, "mykey.d", "30-bad.toml") || ce.Problems[0].Line != 4 || ce.Problems[0].Key != "wedge.sound" {
		t.Fatalf("bad drop-in: %v", err)
	}
	write(t, filepath.Join(dir, "mykey.d", "30-bad.toml"), "\n[wedge]\nkey_delay_ms = 99999\n")
	if _, err = Load(path, false); !errors.As(err, &ce) || ce.Problems[0].String() != filepath.Join(dir, "mykey.d", "30-bad.toml")+":3: wedge.key_delay_ms: 99999 is outside 0..1000" {
		t.Fatalf("bad drop-in value: %v", err)
	}
	os.Remove(filepath.Join(dir, "mykey.d", "30-bad.toml"))

	// Drop-ins apply without a configuration file too.
	os.Remove(path)
	if c, err := Load(path, true); err != nil || c.Wedge.Template != "{f2}{patron}{tab}" {
		t.Fatalf("drop-ins without a file: %+v, %v", c, err)
	}

	// A drop-in others may change is refused, like the file.
	os.Chmod(filepath.Join(dir, "mykey.d", "10-fleet.toml"), 0o666)
	if _, err := Load(path, true); !errors.As(err, &ce) || !strings.Contains(err.Error(), "10-fleet.toml") {
		t.Fatalf("writable drop-in: %v", err)
	}
}

func TestProfiles(t *testing.T) {
	c, err := Parse("m.toml", []byte(`
[wedge]
template = "{patron}{tab}"
allow_exe = ["ils.exe"]
sound = false
[profiles.counter]
readers = ["Sony"]
template = "{f2}{patron}{enter}"
[profiles.registration]
readers = ["ACS", "Reg"]
action = "lookup"
sound = true
`))
	if err != nil {
		t.Fatal(err)
	}
	counter := Profile{Readers: []string{"Sony"}, Action: ActionType, Template: "{f2}{patron}{enter}", AllowExe: []string{"ils.exe"}}
	if !reflect.DeepEqual(c.Profiles["counter"], counter) {
		t.Errorf("counter = %+v, want %+v", c.Profiles["counter"], counter)
	}
	if n, p, ok := c.ProfileFor("ACS ACR1252 1S CL Reader PICC 0"); !ok || n != "registration" || p.Action != ActionLookup || !p.Sound || p.Template != "{patron}{tab}" {
		t.Errorf("ProfileFor(ACS) = %s %+v %v", n, p, ok)
	}
	if _, _, ok := c.ProfileFor("Virtual PCD 00 00"); ok {
		t.Error("a reader of no profile matched one")
	}
	got := problems(t, "[profiles.a]\nreaders = []\naction = \"print\"\n[profiles.\"b c\"]\nreaders = [\"x\"]\ntemplate = \"{patron}{esc}\"\n[profiles.d]\nreader = [\"x\"]\n")
	var keys []string
	for _, p := range got {
		keys = append(keys, fmt.Sprintf("%d %s", p.Line, p.Key))
	}
	if want := []string{"8 profiles.d.reader"}; !reflect.DeepEqual(keys, want) {
		t.Errorf("type problems %v, want %v", keys, want)
	}
	got = problems(t, "[profiles.a]\nreaders = []\naction = \"print\"\n[profiles.\"b c\"]\nreaders = [\"x\"]\ntemplate = \"{patron}{esc}\"\n")
	keys = nil
	for _, p := range got {
		keys = append(keys, fmt.Sprintf("%d %s", p.Line, p.Key))
	}
	if want := []string{"2 profiles.a.readers", "3 profiles.a.action", "4 profiles.b c", "6 profiles.b c.template"}; !reflect.DeepEqual(keys, want) {
		t.Errorf("problems %v, want %v", keys, want)
	}
}
