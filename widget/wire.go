package widget

// WireRequest is a GET or HEAD of a public path as parsed by a front end
// that answers without net/http (package fastpath), one header line each.
type WireRequest struct {
	Head     bool   // HEAD: the same head, no body
	Path     string // as sent; the front end passes only paths without escapes
	RawQuery string
	// The header fields the answers depend on; "" when absent.
	AcceptEncoding, IfNoneMatch, Origin string
	// Conditional is set when the request has Range, If-Range, If-Match,
	// If-Modified-Since or If-Unmodified-Since.
	Conditional bool
}

// Wire answers r as the handlers would, as bytes for the connection: head
// is the status line and the header fields, each ending in CRLF, without
// Date and without the empty line that ends the head; body is nil for HEAD
// and 304. Both are shared and must not be modified.
//
// ok is false when the request needs the handlers: an unknown path or any
// error answer, a CORS allow-list with an Origin, a conditional or ranged
// image request, or an image that is not in the memory cache. Wire and the
// handlers decide through the same function (answer) over the same
// prepared responses, so the bytes are theirs.
func (w *Widget) Wire(r *WireRequest) (head, body []byte, ok bool) {
	kind, rest, ok := routeOf(r.Path)
	if !ok {
		return nil, nil, false
	}
	// Field by field: a composite literal is built aside and copied,
	// which costs a fifth of an answer.
	var req request
	req.kind, req.head, req.rawQuery, req.conditional = kind, r.Head, r.RawQuery, r.Conditional
	req.acceptEncoding, req.ifNoneMatch, req.origin = r.AcceptEncoding, r.IfNoneMatch, r.Origin
	if kind == kindMedia {
		if req.mediaID, req.mediaFile, ok = mediaSegments(rest); !ok {
			return nil, nil, false
		}
	}
	var rep reply
	w.answer(w.cur.Load(), &req, &rep)
	if rep.verdict != verdictPrepared {
		return nil, nil, false
	}
	return rep.res.wire, rep.body, true
}
