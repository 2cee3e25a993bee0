"""Who may do what over HTTP: roles (roles), bearer tokens stored hashed (tokens), and the Starlette
gate that checks them on every request (http). Below consumers/ and producers/: imports only schemas/."""
