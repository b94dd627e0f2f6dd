package admin

import (
	"github.com/gin-gonic/gin"

	"vitrine/auth"
)

type loginView struct {
	page
	LoginCSRF string
	Error     string
	Notice    string
}

// loginPage draws auth's sign-in form as one of the admin's pages.
func (a *Admin) loginPage(c *gin.Context, status int, f auth.LoginForm) {
	a.render(c, status, "login.html", loginView{page: a.page(c, "Sign in"), LoginCSRF: f.CSRF, Error: f.Error, Notice: f.Notice})
}
