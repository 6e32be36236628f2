"""A stand-in for the native PeerSite: a peer record whose key is not one of
its readable fields. As the native one, two records are equal when they
connect the same way (mon_host, client name, key), whatever their pool's
uuid; the hash leaves the key out."""
from dataclasses import dataclass, field


@dataclass(frozen=True)
class FakePeer:
    site_name: str = field(default='site-a', compare=False)
    mon_host: str = 'v2:127.0.0.1:3300'
    client_name: str = 'client.rbd-mirror-peer'
    direction: str = field(default='rx-tx', compare=False)
    uuid: str = field(default='uuid-a', compare=False)
    mirror_uuid: str = field(default='', compare=False)
    secret: str = field(default='AQBsecret==', repr=False, hash=False)

    @property
    def has_key(self) -> bool:
        return bool(self.secret)
