package instagram

import (
	"errors"
	"net/url"
	"regexp"
	"strings"
)

// redacted replaces every secret value in URLs, errors and log lines.
const redacted = "REDACTED"

// Instagram puts tokens in query strings (exchange, refresh, paging.next) and
// Go's *url.Error prints the whole URL, so every URL and every text that can
// reach an error or a log line goes through this file first.

// isSecretParam reports whether a query parameter carries a credential.
// "code" is the single-use authorization code; the rest is by name so a
// future parameter like "fb_exchange_token" is covered without a change.
func isSecretParam(name string) bool {
	n := strings.ToLower(name)
	if n == "code" || n == "sig" || n == "state" {
		return true
	}
	for _, s := range []string{"token", "secret", "password", "passwd", "signature", "api_key", "apikey", "assertion"} {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}

// redactURL returns u as text with secret parameters, userinfo passwords and
// a parameter-like fragment replaced by REDACTED.
func redactURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	c := *u
	if c.User != nil {
		if _, has := c.User.Password(); has {
			c.User = url.UserPassword(c.User.Username(), redacted)
		}
	}
	c.RawQuery = redactQuery(c.RawQuery)
	if strings.Contains(c.Fragment, "=") {
		// The implicit flow put access_token in the fragment.
		c.Fragment, c.RawFragment = redactQuery(c.Fragment), ""
	}
	return c.String()
}

// redactQuery rewrites only the values of secret parameters so the rest of
// the query stays readable in logs.
func redactQuery(raw string) string {
	if raw == "" {
		return raw
	}
	parts := strings.Split(raw, "&")
	for i, p := range parts {
		k, _, hasValue := strings.Cut(p, "=")
		name, err := url.QueryUnescape(k)
		if err != nil {
			name = k
		}
		if hasValue && isSecretParam(name) {
			parts[i] = k + "=" + redacted
		}
	}
	return strings.Join(parts, "&")
}

// redactURLString redacts a URL given as text; unparsable text is scrubbed
// as free text instead.
func redactURLString(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return scrubText(s, nil)
	}
	return redactURL(u)
}

var (
	// key=value in free text (a URL inside an error message or a body).
	// \b keeps "error_code=" readable while "code=" is hidden.
	secretParamRE = regexp.MustCompile(`(?i)((?:\b[a-z0-9_.\-]*(?:token|secret|password|passwd|signature|api_?key|assertion)[a-z0-9_.\-]*|\bcode|\bsig|\bstate)=)[^&\s"'<>#]+`)
	// "access_token":"…" and friends inside JSON-ish text.
	secretJSONRE = regexp.MustCompile(`(?i)("[a-z0-9_]*(?:token|secret|password|code)[a-z0-9_]*"\s*:\s*)"[^"]*"`)
	// Instagram tokens start with IG (IGAA…, IGQV…); catch a bare one.
	igTokenRE = regexp.MustCompile(`\bIG[A-Za-z0-9_\-]{20,}`)
)

// scrubText removes the exact secret values we sent (longest first, so a
// secret that contains another is not half-replaced) and anything that looks
// like a credential.
func scrubText(s string, secrets []string) string {
	for _, v := range secrets {
		// Very short values would mangle ordinary words; they are covered by
		// the patterns below when they appear as parameters.
		if len(v) >= 4 {
			s = strings.ReplaceAll(s, v, redacted)
		}
	}
	s = secretParamRE.ReplaceAllString(s, "${1}"+redacted)
	s = secretJSONRE.ReplaceAllString(s, `${1}"`+redacted+`"`)
	s = igTokenRE.ReplaceAllString(s, redacted)
	return s
}

// redactTransportErr returns a copy of err whose *url.Error carries a
// redacted URL (Go's url.Error prints the whole URL, token included), plus
// the scrubbed text of the whole error.
func redactTransportErr(err error, secrets []string) (error, string) {
	var ue *url.Error
	if errors.As(err, &ue) {
		inner := ue.Err
		if inner != nil {
			inner = &scrubbedError{msg: scrubText(inner.Error(), secrets), err: inner}
		}
		err = &url.Error{Op: ue.Op, URL: redactURLString(ue.URL), Err: inner}
	} else {
		err = &scrubbedError{msg: scrubText(err.Error(), secrets), err: err}
	}
	return err, scrubText(err.Error(), secrets)
}

// scrubbedError keeps the chain (for errors.Is(err, context.DeadlineExceeded)
// and net.Error) while printing only scrubbed text.
type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

// Timeout keeps url.Error.Timeout() truthful through the wrapper.
func (e *scrubbedError) Timeout() bool {
	t, ok := e.err.(interface{ Timeout() bool })
	return ok && t.Timeout()
}
