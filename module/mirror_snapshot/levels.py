"""Schedule levels: parsing, validation against the cluster, storage keys.

A level is where schedules attach, named as rbd_support names them:
'' (global), 'pool/', 'pool/ns/' ('pool//' = default namespace), 'pool/image',
'pool/ns/image'. Image levels are stored by image id, so a rename keeps the
schedule.
"""
import errno
from typing import Any, Dict, NamedTuple, Optional, Tuple

from .errors import CommandError, invalid, not_found


class Level(NamedTuple):
    kind: str            # 'global', 'pool', 'namespace', 'image'
    pool: str = ''
    namespace: str = ''
    image: str = ''      # image name (as resolved when last seen)
    image_id: str = ''

    @property
    def spec(self) -> str:
        if self.kind == 'global':
            return ''
        if self.kind == 'pool':
            return f'{self.pool}/'
        if self.kind == 'namespace':
            return f'{self.pool}/{self.namespace}/'
        if self.namespace:
            return f'{self.pool}/{self.namespace}/{self.image}'
        return f'{self.pool}/{self.image}'

    @property
    def storage_key(self) -> str:
        """omap key in the pool's schedule object ('' for global)."""
        if self.kind == 'pool':
            return 'pool'
        if self.kind == 'namespace':
            return f'ns:{self.namespace}'
        if self.kind == 'image':
            return f'image:{self.namespace}/{self.image_id}'
        return ''

    def describe(self) -> str:
        return 'global level' if self.kind == 'global' else f"level '{self.spec}'"

    def same_level(self, other: 'Level') -> bool:
        """The same level; images compare by id when both know it, else by name."""
        if (self.kind, self.pool, self.namespace) != (other.kind, other.pool, other.namespace):
            return False
        if self.kind != 'image':
            return True
        if self.image_id and other.image_id:
            return self.image_id == other.image_id
        return self.image == other.image

    def contains(self, other: 'Level') -> bool:
        """`other` is this level or lies beneath it (an image is beneath its
        namespace, its pool and global)."""
        if self.kind == 'global':
            return True
        if other.kind == 'global' or self.pool != other.pool:
            return False
        if self.kind == 'pool':
            return True
        if other.kind == 'pool' or self.namespace != other.namespace:
            return False
        return self.kind == 'namespace' or self.same_level(other)


def parse(native: Any, text: str) -> Level:
    """Syntax only: EINVAL naming the bad part."""
    parsed = native.parse_level_spec(text)
    return Level(kind=parsed['kind'], pool=parsed['pool'],
                 namespace=parsed['namespace'], image=parsed['image'])


def resolve(native: Any, cluster: Any, level: Level, need_snapshot_mode: bool) -> Level:
    """Checks that the level exists; for images, fills in the id.

    ENOENT for a missing pool, namespace or image; EINVAL for a pool that is
    not an RBD pool, or (need_snapshot_mode) an image that is not mirrored in
    snapshot mode.
    """
    return resolve_with_info(native, cluster, level, need_snapshot_mode)[0]


def resolve_with_info(native: Any, cluster: Any, level: Level,
                      need_snapshot_mode: bool) -> Tuple[Level, Optional[Dict[str, Any]]]:
    """resolve(), also returning image_info() of an image level (None for others)."""
    if level.kind == 'global':
        return level, None
    if level.pool not in native.rbd_pools(cluster):
        try:
            cluster.pool_id(level.pool)
        except OSError as e:
            if e.errno == errno.ENOENT:
                raise not_found(f"pool '{level.pool}' does not exist")
            raise
        raise invalid(f"pool '{level.pool}' is not an RBD pool (no 'rbd' application)")
    if level.kind in ('namespace', 'image') and level.namespace:
        if not native.namespace_exists(cluster, level.pool, level.namespace):
            raise not_found(f"namespace '{level.pool}/{level.namespace}' does not exist")
    if level.kind != 'image':
        return level, None
    info = image_info(native, cluster, level)
    if need_snapshot_mode and info['mirror_mode'] != native.MirrorMode.snapshot:
        raise invalid(f"image '{level.spec}' is not in snapshot mirror mode "
                      f"(mirroring: {info['mirror_mode'].name})")
    return level._replace(image_id=info['id']), info


def image_info(native: Any, cluster: Any, level: Level) -> Dict[str, Any]:
    try:
        return native.image_info(cluster, level.pool, level.namespace, level.image)
    except OSError as e:
        if e.errno == errno.ENOENT:
            raise not_found(e.strerror)
        raise CommandError(e.errno or errno.EIO, e.strerror or str(e))


def parse_image_spec(native: Any, text: str) -> Level:
    """'pool/image' or 'pool/ns/image' for commands that act on one image."""
    level = parse(native, text)
    if level.kind != 'image':
        raise invalid(f"'{text}' is not an image spec (expected <pool>/[<namespace>/]<image>)")
    return level
