"""The layer model: provenance is mandatory, setters validate, events fire once and can be muted."""
import numpy as np
import pytest

from app.data.types import Volume, lps_to_ras_affine, orientation_letters, ras_to_lps_affine
from app.layers import EventsLayer, GraphLayer, LabelLayer, Provenance, Shape, TemporalEvent


def prov():
    return Provenance.backend("vessels3d", "0.1.0", {"sigma_mm": 1.5})


def test_provenance_required_and_digest_stable():
    with pytest.raises(TypeError, match="provenance must be a Provenance"):
        LabelLayer(np.zeros((2, 3, 4), np.uint8), np.eye(4), "mask", provenance=None)  # type: ignore[arg-type]
    p1, p2 = prov(), Provenance.backend("vessels3d", "0.1.0", {"sigma_mm": 1.5})
    assert p1.digest == p2.digest
    assert Provenance.from_dict(p1.to_dict()) == p1
    with pytest.raises(ValueError, match="user name"):
        Provenance.human("")


def test_opacity_validated_and_events_muted():
    layer = LabelLayer(np.zeros((2, 3, 4), np.uint8), np.eye(4), "mask", prov())
    seen = []
    slot = seen.append
    layer.events.style.connect(slot)
    layer.opacity = 0.3
    assert seen == [layer]
    with layer.events.style.muted(slot):
        layer.opacity = 0.4
    assert len(seen) == 1 and layer.opacity == 0.4
    with pytest.raises(ValueError, match="within 0..1, got 1.5"):
        layer.opacity = 1.5
    layer.events.style.disconnect(slot)
    layer.visible = False
    assert len(seen) == 1


def test_label_layer_checks_dtype_and_promotes_2d():
    with pytest.raises(ValueError, match="integer"):
        LabelLayer(np.zeros((3, 4), np.float32), np.eye(4), "m", prov())
    layer = LabelLayer(np.array([[0, 2], [2, 9]], np.uint8), np.eye(4), "m", prov())
    assert layer.labels.shape == (1, 2, 2)
    assert layer.present_labels() == [2, 9]
    assert layer.color_of(9) == layer.color_of(9)  # stable colour for unlisted labels


def test_graph_layer_rejects_bad_edges():
    with pytest.raises(ValueError, match="outside 0..1"):
        GraphLayer([[0, 0, 0], [1, 0, 0]], [1, 1], [[0, 2]], "g", prov())
    with pytest.raises(ValueError, match="2 radii for 3 nodes"):
        GraphLayer(np.zeros((3, 3)), [1, 1], [[0, 1]], "g", prov())


def test_shapes_and_events_validate():
    with pytest.raises(ValueError, match="at least 3 vertices"):
        Shape("polygon", [[0, 0, 0], [1, 1, 0]])
    with pytest.raises(ValueError, match="ends .* before it starts"):
        TemporalEvent(10, 5)
    layer = EventsLayer([TemporalEvent(50, 60, 0.9), TemporalEvent(5, 9, 0.2)], "ev", prov())
    assert [e.start_frame for e in layer.events] == [5, 50]


def test_volume_geometry_derived_from_affine():
    # An oblique, anisotropic affine: spacing/direction/origin must come back exactly.
    theta = np.deg2rad(20)
    rot = np.array([[np.cos(theta), -np.sin(theta), 0], [np.sin(theta), np.cos(theta), 0], [0, 0, 1]])
    aff = np.eye(4)
    aff[:3, :3] = rot @ np.diag([0.5, 0.7, 3.0])
    aff[:3, 3] = [10, -20, 30]
    vol = Volume(np.zeros((4, 5, 6), np.int16), aff)
    np.testing.assert_allclose(vol.spacing, [0.5, 0.7, 3.0])
    np.testing.assert_allclose(vol.direction, rot, atol=1e-12)
    ijk = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(vol.world_to_index(vol.index_to_world(ijk)), ijk, atol=1e-9)
    assert vol.orientation_letters() == "LPS"
    assert orientation_letters(-np.eye(3)) == "RAI"
    np.testing.assert_allclose(ras_to_lps_affine(lps_to_ras_affine(aff)), aff)
    with pytest.raises(ValueError, match="expected 4"):
        Volume(np.zeros((4, 5, 6)), np.eye(4), time_axis=True)


def test_graph_colour_modes_and_branch_selection():
    """Colour mode and selection are display state (app.layers.display), not the graph's data:
    two scenes show the same layer differently, and nothing of it reaches the stored record."""
    from app.layers.display import DisplayStates, edge_colors
    from app.review.serialize import layer_to_record

    g = GraphLayer([[0, 0, 0], [1, 0, 0], [2, 0, 0], [2, 5, 0]], [0.5, 0.5, 2.0, 3.0],
                   [[0, 1], [1, 2], [2, 3]], "g", prov(), branch_ids=[0, 0, 1])
    seen = []
    g.events.style.connect(seen.append)
    shown, other = DisplayStates(), DisplayStates()
    record = layer_to_record(g)
    assert np.allclose(edge_colors(g, shown.graph(g)), g.color)
    shown.set_color_by(g, "radius")
    c = edge_colors(g, shown.graph(g))
    assert c[2, 0] > c[0, 0] and c[0, 2] > c[2, 2]   # wide = red end, thin = blue end
    shown.set_color_by(g, "branch")
    c = edge_colors(g, shown.graph(g))
    assert np.allclose(c[0], c[1]) and not np.allclose(c[0], c[2])
    shown.select_branch(g, 1)
    assert np.allclose(edge_colors(g, shown.graph(g))[2], 1.0) and len(seen) == 3
    assert np.allclose(edge_colors(g, other.graph(g)), g.color)   # another scene: its own state
    assert layer_to_record(g)[0] == record[0]
    with pytest.raises(ValueError, match="no branch 5"):
        shown.select_branch(g, 5)
    with pytest.raises(ValueError, match="colour mode"):
        shown.set_color_by(g, "rainbow")
