//! The cap on open connections per client address: one address cannot take every connection
//! (and file descriptor) the server has by opening many and sending nothing.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

#[derive(Clone)]
pub struct PerAddress {
    max: usize,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

/// Held for as long as the connection is open; dropping it frees the address's slot.
pub struct AddressSlot {
    ip: IpAddr,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl PerAddress {
    pub fn new(max: usize) -> Self {
        Self {
            max,
            open: Arc::default(),
        }
    }

    /// A slot for one more connection from `ip`, or `None` when it has `max` open already.
    pub fn admit(&self, ip: IpAddr) -> Option<AddressSlot> {
        // The map stays consistent even if a holder panicked: each update is one statement.
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let n = open.entry(ip).or_insert(0);
        if *n >= self.max {
            return None;
        }
        *n += 1;
        Some(AddressSlot {
            ip,
            open: self.open.clone(),
        })
    }

    #[cfg(test)]
    fn addresses(&self) -> usize {
        self.open.lock().map(|m| m.len()).unwrap_or_default()
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = open.get_mut(&self.ip) {
            *n -= 1;
            // Forget addresses with nothing open, so the table holds only live connections.
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::PerAddress;
    use std::net::{IpAddr, Ipv4Addr};

    #[test]
    fn at_most_max_per_address_and_slots_come_back() {
        let caps = PerAddress::new(2);
        let a = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
        let b = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));
        let first = caps.admit(a).expect("first");
        let _second = caps.admit(a).expect("second");
        assert!(caps.admit(a).is_none());
        assert!(caps.admit(b).is_some(), "another address is not affected");
        drop(first);
        assert!(caps.admit(a).is_some());
        drop(_second);
        assert_eq!(
            caps.addresses(),
            0,
            "addresses with nothing open are forgotten"
        );
    }
}
