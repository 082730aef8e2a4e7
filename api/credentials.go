package api

// registerCredentialRoutes serves the operator's administration of
// credentials.
func (s *Server) registerCredentialRoutes() {}
