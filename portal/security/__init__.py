"""Web security pieces kept in one place: safe redirects, headers and cookies, sessions, passwords."""
