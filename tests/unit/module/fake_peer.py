"""A stand-in for the native PeerSite: a peer record whose key is not one of
its readable fields, and that is equal to another only with the same key."""
from dataclasses import dataclass, field


@dataclass(frozen=True)
class FakePeer:
    site_name: str = 'site-a'
    mon_host: str = 'v2:127.0.0.1:3300'
    client_name: str = 'client.rbd-mirror-peer'
    direction: str = 'rx-tx'
    uuid: str = 'uuid-a'
    mirror_uuid: str = ''
    # Compared, never shown (repr) nor hashed, as in the native PeerSite.
    secret: str = field(default='AQBsecret==', repr=False, hash=False)

    @property
    def has_key(self) -> bool:
        return bool(self.secret)
