package alerts

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"time"

	"vitrine/buildinfo"
)

// SignatureHeader carries "sha256=<hex HMAC-SHA256 of the body>" keyed with
// alerts.webhook_secret, when one is set.
const SignatureHeader = "X-Vitrine-Signature"

// Sign returns the SignatureHeader value for body.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// sendWebhook POSTs the alert as JSON (Slack-compatible "text" plus the
// structured fields), retrying connection errors, 429 and 5xx with
// exponential backoff and jitter. The webhook URL is a secret (Slack's are
// bearer URLs), so no error names it.
func (al *Alerter) sendWebhook(ctx context.Context, a Alert) error {
	body, err := json.Marshal(a)
	if err != nil {
		return err
	}
	var last error
	for attempt := 0; attempt < al.webhookTries; attempt++ {
		if attempt > 0 {
			wait := al.webhookBackoff << (attempt - 1)
			wait = wait/2 + rand.N(wait/2+1)
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return fmt.Errorf("webhook: %w (last error: %v)", ctx.Err(), last)
			case <-t.C:
			}
		}
		retry, err := al.postWebhook(ctx, body, a.Kind)
		if err == nil {
			return nil
		}
		last = err
		if !retry {
			break
		}
	}
	return last
}

// userAgent names this build, as the Instagram client's does, so a
// receiver's logs say which Vitrine sent an alert.
var userAgent = buildinfo.Get().UserAgent()

func (al *Alerter) postWebhook(ctx context.Context, body []byte, kind string) (retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, al.cfg.WebhookURL, bytes.NewReader(body))
	if err != nil {
		return false, errors.New("webhook: invalid alerts.webhook_url")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set("X-Vitrine-Event", kind)
	if sec := al.cfg.WebhookSecret; sec != "" {
		req.Header.Set(SignatureHeader, Sign(sec, body))
	}
	resp, err := al.hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // drop the URL
		}
		return true, fmt.Errorf("webhook: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return false, nil
	}
	retry = resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500
	return retry, fmt.Errorf("webhook: HTTP %d", resp.StatusCode)
}
