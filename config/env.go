package config

import (
	"fmt"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// EnvPrefix starts every environment variable Vitrine reads.
const EnvPrefix = "VITRINE_"

// EnvTestPrefix starts variables meant for the test suites
// (VITRINE_TEST_POSTGRES_URL), which share the shell with the product's
// settings; they are no setting and no typo.
const EnvTestPrefix = EnvPrefix + "TEST_"

// EnvConfigPath names the config file when -config is not given; it is read
// by main, not mapped to a key.
const EnvConfigPath = EnvPrefix + "CONFIG"

// field is one leaf setting: its YAML path, its environment name and where
// it lives in a Config.
type field struct {
	key   string // "instagram.client_secret"
	env   string // "VITRINE_INSTAGRAM_CLIENT_SECRET"
	index []int
	typ   reflect.Type
}

// fields lists every leaf of Config, derived from the yaml tags so the file
// keys, the environment names and the docs can't drift apart.
func fields() []field {
	var out []field
	var walk func(t reflect.Type, prefix string, index []int)
	walk = func(t reflect.Type, prefix string, index []int) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, flags, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if flags == "inline" && f.Type.Kind() == reflect.Struct {
				// Its keys belong to the struct it sits in.
				walk(f.Type, prefix, append(append([]int(nil), index...), i))
				continue
			}
			if name == "" || name == "-" {
				continue
			}
			key := name
			if prefix != "" {
				key = prefix + "." + name
			}
			idx := append(append([]int(nil), index...), i)
			if f.Type.Kind() == reflect.Struct {
				walk(f.Type, key, idx)
				continue
			}
			env := EnvPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
			out = append(out, field{key: key, env: env, index: idx, typ: f.Type})
		}
	}
	walk(reflect.TypeOf(Config{}), "", nil)
	return out
}

// Keys returns every configuration key, sorted; config.example.yaml is
// tested against it.
func Keys() []string {
	var keys []string
	for _, f := range fields() {
		keys = append(keys, f.key)
	}
	sort.Strings(keys)
	return keys
}

// applyEnv overrides settings from VITRINE_* variables. NAME_FILE reads the
// value from a file (for secrets mounted by Docker/systemd credentials). An
// unknown VITRINE_ variable is an error: it is almost always a typo that
// would otherwise be ignored in silence.
func applyEnv(cfg *Config, environ []string) error {
	byEnv := map[string]field{}
	for _, f := range fields() {
		byEnv[f.env] = f
	}
	var problems []Problem
	v := reflect.ValueOf(cfg).Elem()
	seen := map[string]bool{}
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, EnvPrefix) || name == EnvConfigPath || strings.HasPrefix(name, EnvTestPrefix) {
			continue
		}
		f, known := byEnv[name]
		if !known {
			base, isFile := strings.CutSuffix(name, "_FILE")
			f, known = byEnv[base]
			if !known || !isFile {
				problems = append(problems, Problem{Key: name, Msg: "unknown setting (see config.example.yaml for the names)"})
				continue
			}
			if seen[base] {
				problems = append(problems, Problem{Key: name, Msg: "set together with " + base + "; use one"})
				continue
			}
			data, err := os.ReadFile(value)
			if err != nil {
				problems = append(problems, Problem{Key: name, Msg: "cannot read file: " + unwrapPathError(err).Error()})
				continue
			}
			value = strings.TrimRight(string(data), "\r\n")
			name = base
		} else if seen[name] {
			problems = append(problems, Problem{Key: name, Msg: "set together with " + name + "_FILE; use one"})
			continue
		}
		seen[name] = true
		if err := setValue(v.FieldByIndex(f.index), value); err != nil {
			problems = append(problems, Problem{Key: name, Msg: err.Error()})
		}
	}
	if len(problems) > 0 {
		return &Error{Problems: problems}
	}
	return nil
}

// setValue parses s into the settings field dst. Error messages never quote
// the value: it may be a secret.
func setValue(dst reflect.Value, s string) error {
	switch dst.Type() {
	case reflect.TypeOf(Duration(0)):
		d, err := ParseDuration(s)
		if err != nil {
			return fmt.Errorf("not a duration (use e.g. 30d, 12h, 90s)")
		}
		dst.Set(reflect.ValueOf(d))
		return nil
	}
	switch dst.Kind() {
	case reflect.String:
		dst.SetString(s)
	case reflect.Int:
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("not a whole number")
		}
		dst.SetInt(int64(n))
	case reflect.Bool:
		b, err := strconv.ParseBool(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("not true or false")
		}
		dst.SetBool(b)
	case reflect.Slice:
		var items []string
		for _, item := range strings.Split(s, ",") {
			if item = strings.TrimSpace(item); item != "" {
				items = append(items, item)
			}
		}
		dst.Set(reflect.ValueOf(items))
	default:
		return fmt.Errorf("unsupported setting type %s", dst.Type())
	}
	return nil
}

// friendlyYAMLError rewrites yaml.v3's "field x not found in type
// config.Instagram" into the key a person wrote.
func friendlyYAMLError(msg string) string {
	line, rest, ok := strings.Cut(msg, ": ")
	if !ok || !strings.HasPrefix(line, "line ") {
		return msg
	}
	var name, typ string
	if _, err := fmt.Sscanf(rest, "field %s not found in type %s", &name, &typ); err != nil {
		return msg
	}
	prefix := typePaths()[typ]
	if prefix != "" {
		name = prefix + "." + name
	}
	return fmt.Sprintf("%s: unknown key %q", line, name)
}

// typePaths maps "config.Instagram" to "instagram".
func typePaths() map[string]string {
	out := map[string]string{"config.Config": ""}
	var walk func(t reflect.Type, prefix string)
	walk = func(t reflect.Type, prefix string) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, flags, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if f.Type.Kind() == reflect.Struct && flags == "inline" {
				out[f.Type.String()] = prefix // its keys belong to the struct it sits in
				walk(f.Type, prefix)
				continue
			}
			if f.Type.Kind() != reflect.Struct || name == "" || name == "-" {
				continue
			}
			key := name
			if prefix != "" {
				key = prefix + "." + name
			}
			out[f.Type.String()] = key
			walk(f.Type, key)
		}
	}
	walk(reflect.TypeOf(Config{}), "")
	return out
}
