"""Level containment: which stored schedules a level's `ls --recursive`
lists, which images its `schedule status` shows. The rule lives here, in the
module (it compares images by id, which the C++ level spec does not know),
and is written nowhere else."""
from mirror_snapshot.levels import Level


def level(text: str, image_id: str = '') -> Level:
    """'' global, 'p/' pool, 'p/ns/' namespace ('p//' default), 'p/img', 'p/ns/img'."""
    if text == '':
        return Level('global')
    parts = text.split('/')
    if len(parts) == 2 and parts[1] == '':
        return Level('pool', parts[0])
    if len(parts) == 3 and parts[2] == '':
        return Level('namespace', parts[0], parts[1])
    if len(parts) == 2:
        return Level('image', parts[0], '', parts[1], image_id)
    return Level('image', parts[0], parts[1], parts[2], image_id)


def test_an_image_is_beneath_its_namespace_its_pool_and_global() -> None:
    img = level('rbd/ns/img')
    assert level('').contains(img)
    assert level('rbd/').contains(img)
    assert level('rbd/ns/').contains(img)
    assert img.contains(img)


def test_other_namespaces_pools_and_images_do_not_contain_it() -> None:
    img = level('rbd/ns/img')
    assert not level('rbd//').contains(img)
    assert not level('other/').contains(img)
    assert not level('rbd/ns/other').contains(img)
    assert not img.contains(level('rbd/ns/'))
    assert not level('rbd/').contains(level(''))


def test_the_default_namespace_holds_the_pools_plain_images() -> None:
    assert level('rbd//').contains(level('rbd/img'))
    assert level('rbd/').contains(level('rbd//'))


def test_images_compare_by_id_when_both_know_it() -> None:
    renamed = level('rbd/new-name', image_id='1234')
    assert level('rbd/old-name', image_id='1234').contains(renamed)
    assert not level('rbd/new-name', image_id='9999').contains(renamed)
    assert level('rbd/new-name').contains(renamed)  # one side without an id: by name
