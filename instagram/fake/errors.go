package fake

import (
	"net/http"
)

// graphError is the error object of graph.instagram.com.
type graphError struct {
	Message   string
	Code      int
	Subcode   int  // 0: no error_subcode field, as on the real API
	Transient bool // is_transient: true (codes 1, 2, 4)
}

// Messages of the real API, copied so clients can be tested against them.
const (
	msgNoToken       = "An active access token must be used to query information about the current user."
	msgBadToken      = "Invalid OAuth access token - Cannot parse access token"
	msgRevoked       = "Error validating access token: The user has not authorized application %s."
	msgPassword      = "Error validating access token: The session has been invalidated because the user changed their password or Facebook has changed the session for security reasons."
	msgExpired       = "Error validating access token: Session has expired on %s. The current time is %s."
	msgRateLimited   = "Application request limit reached"
	msgUnexpected    = "An unexpected error has occurred. Please retry your request later."
	msgNoObject      = "Unsupported get request. Object with ID '%s' does not exist, cannot be loaded due to missing permissions, or does not support this operation."
	msgPlatformApp   = "Invalid platform app"
	msgClientSecret  = "Error validating client secret"
	msgRedirectMatch = "Error validating verification code. Please make sure your redirect_uri is identical to the one you used in the OAuth dialog request"
	msgCodeNotFound  = "Matching code was not found or was already used"
	msgGrantType     = "Unsupported grant_type"
)

func writeGraphError(w http.ResponseWriter, status int, e graphError) {
	body := map[string]any{
		"message":    e.Message,
		"type":       "OAuthException",
		"code":       e.Code,
		"fbtrace_id": randAlnum(23),
	}
	if e.Subcode != 0 {
		body["error_subcode"] = e.Subcode
	}
	if e.Transient {
		body["is_transient"] = true
	}
	if e.Code == 190 {
		// Graph adds an RFC 6750 challenge to token errors.
		w.Header().Set("WWW-Authenticate", `OAuth "Facebook Platform" "invalid_token" "`+e.Message+`"`)
	}
	writeJSON(w, status, map[string]any{"error": body})
}

// writeCodeExchangeError answers api.instagram.com/oauth/access_token, whose
// errors have a flat shape unlike the graph's.
func writeCodeExchangeError(w http.ResponseWriter, status int, message string) {
	writeJSON(w, status, map[string]any{
		"error_type":    "OAuthException",
		"code":          status,
		"error_message": message,
	})
}
