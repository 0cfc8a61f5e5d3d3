"""Users, bearer tokens and the roles that decide what each may do."""
