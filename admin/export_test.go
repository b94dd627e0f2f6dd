package admin

// What the external tests (admin_test) read of the admin's own: the JSON
// of status.json as the dashboard's script reads it, the popup's window
// name, and the versioned address of an embedded asset.

type (
	StatusView  = statusView
	AccountView = accountView
	ParkedView  = parkedView
	EventView   = eventView
)

const PopupName = popupName

func (a *Admin) AssetURL(name string) (string, error) { return a.assetURL(name) }
