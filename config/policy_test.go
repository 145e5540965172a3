package config

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// The Group Policy template in packaging/policy names only settings that
// exist, with the registry type mykey reads for them, and values that pass
// the configuration check; both languages have every string it uses.
func TestPolicyTemplate(t *testing.T) {
	dir := filepath.Join("..", "packaging", "policy")
	admx, err := os.ReadFile(filepath.Join(dir, "mykey.admx"))
	if err != nil {
		t.Fatal(err)
	}
	type element struct {
		XMLName   xml.Name
		ID        string   `xml:"id,attr"`
		ValueName string   `xml:"valueName,attr"`
		Values    []string `xml:"item>value>string"`
	}
	var defs struct {
		Policies []struct {
			Name         string    `xml:"name,attr"`
			Key          string    `xml:"key,attr"`
			ValueName    string    `xml:"valueName,attr"`
			Display      string    `xml:"displayName,attr"`
			Explain      string    `xml:"explainText,attr"`
			Presentation string    `xml:"presentation,attr"`
			Enabled      *struct{} `xml:"enabledValue"`
			Elements     struct {
				Any []element `xml:",any"`
			} `xml:"elements"`
		} `xml:"policies>policy"`
	}
	if err := xml.Unmarshal(admx, &defs); err != nil {
		t.Fatalf("mykey.admx: %v", err)
	}
	if len(defs.Policies) < 10 {
		t.Fatalf("mykey.admx has %d policies", len(defs.Policies))
	}
	refs := regexp.MustCompile(`\$\((string|presentation)\.([A-Za-z0-9_]+)\)`)
	for _, lang := range []string{"en-US", "ja-JP"} {
		adml, err := os.ReadFile(filepath.Join(dir, lang, "mykey.adml"))
		if err != nil {
			t.Fatal(err)
		}
		var res struct {
			Strings []struct {
				ID string `xml:"id,attr"`
			} `xml:"resources>stringTable>string"`
			Presentations []struct {
				ID   string `xml:"id,attr"`
				Refs []struct {
					Ref string `xml:"refId,attr"`
				} `xml:",any"`
			} `xml:"resources>presentationTable>presentation"`
		}
		if err := xml.Unmarshal(adml, &res); err != nil {
			t.Fatalf("%s: %v", lang, err)
		}
		have := map[string]bool{}
		for _, s := range res.Strings {
			have["string."+s.ID] = true
		}
		for _, p := range res.Presentations {
			have["presentation."+p.ID] = true
		}
		for _, m := range refs.FindAllStringSubmatch(string(admx), -1) {
			if !have[m[1]+"."+m[2]] {
				t.Errorf("%s/mykey.adml lacks %s.%s", lang, m[1], m[2])
			}
		}
	}

	for _, p := range defs.Policies {
		table, ok := strings.CutPrefix(p.Key, `Software\Policies\mykey`)
		if !ok {
			t.Errorf("%s: key %s is not under Software\\Policies\\mykey", p.Name, p.Key)
			continue
		}
		prefix := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(table, `\`), `\`, "."))
		if prefix != "" {
			prefix += "."
		}
		check := func(valueName string, kind reflect.Kind, value any) {
			key := prefix + valueName
			f, ok := fieldFor(key)
			if !ok {
				t.Errorf("%s: %s is not a configuration key", p.Name, key)
				return
			}
			if f.Kind() != kind && !(kind == reflect.Slice && f.Kind() == reflect.Slice) {
				t.Errorf("%s: %s is a %s in the configuration, the policy writes a %s", p.Name, key, f.Kind(), kind)
				return
			}
			if value == nil {
				return
			}
			// The value passes the configuration check as a managed setting.
			raw := map[string]any{}
			m := raw
			parts := strings.Split(key, ".")
			for _, part := range parts[:len(parts)-1] {
				m[part] = map[string]any{}
				m = m[part].(map[string]any)
			}
			m[parts[len(parts)-1]] = value
			pol := layer{raw: raw, where: func(string) (string, int) { return "policy", 0 }}
			base := []byte("[revocation]\nocsp_url = \"http://ocsp.example/\"\n") // "ocsp" needs it
			if _, err := parse("m.toml", base, []layer{pol}, nil); err != nil {
				t.Errorf("%s: %s = %v: %v", p.Name, key, value, err)
			}
		}
		if p.Enabled != nil { // a boolean policy: REG_DWORD 1 or 0
			check(p.ValueName, reflect.Bool, int64(1))
			continue
		}
		if len(p.Elements.Any) != 1 {
			t.Errorf("%s: want one element, got %d", p.Name, len(p.Elements.Any))
			continue
		}
		e := p.Elements.Any[0]
		switch e.XMLName.Local {
		case "text":
			check(e.ValueName, reflect.String, nil)
		case "multiText":
			check(e.ValueName, reflect.Slice, nil)
		case "decimal":
			check(e.ValueName, reflect.Int, nil)
		case "enum":
			for _, v := range e.Values {
				check(e.ValueName, reflect.String, v)
			}
		default:
			t.Errorf("%s: element %s", p.Name, e.XMLName.Local)
		}
	}
}

// fieldFor returns the type of the configuration key (dotted).
func fieldFor(key string) (reflect.Type, bool) {
	t := reflect.TypeOf(Config{})
	for _, part := range strings.Split(key, ".") {
		if t.Kind() != reflect.Struct {
			return nil, false
		}
		found := false
		for i := 0; i < t.NumField(); i++ {
			if t.Field(i).Tag.Get("toml") == part {
				t, found = t.Field(i).Type, true
				break
			}
		}
		if !found {
			return nil, false
		}
	}
	return t, true
}
