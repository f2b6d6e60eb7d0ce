package identity

// OnLockWait has f told each time a call waits for an account's lock.
func OnLockWait(c *Client, f func(accountID string)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.waiting = f
}
