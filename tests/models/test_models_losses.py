"""Every loss of DRKF against a value computed by hand on a tiny tensor (both variants)."""

from __future__ import annotations

import math

import pytest
import torch

from merbench.errors import UserError
from merbench.models.augmentations import PCMI, PCMIConfig
from merbench.models.losses import (
    cmd,
    cross_negatives_loss,
    info_nce,
    kl_to_labels,
    nt_xent,
    pseudo_kl_code,
    soft_orthogonality,
)
from merbench.models.pairs import all_pairs, ed_loss, ed_selection, matched, pair_labels

E1, E2 = [1.0, 0.0], [0.0, 1.0]
R = 1 / math.sqrt(2)


def t(rows) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.float32)


def test_nt_xent_code_variant_matches_hand_computation():
    # [a; b] = [e1, e2, e1, e2]: each anchor sees its positive (cos 1) and two negatives (cos 0);
    # the positive is in the denominator: loss = -1 + log(e^0 + e^1 + e^0) for every anchor
    loss = nt_xent(t([E1, E2]), t([E1, E2]), tau=1.0)
    assert loss.item() == pytest.approx(-1 + math.log(2 + math.e), abs=1e-6)


def test_eq14_paper_excludes_positive_from_denominator():
    anchor, positive, negatives = t([E1, E2, E1]), t([E1, E2, [R, R]]), t([E2, E1, [-1.0, 0.0]])
    loss = cross_negatives_loss(anchor, positive, negatives, tau=0.5)
    expected = [
        -2 + math.log(math.exp(2) + math.exp(-2)),  # negatives k=1 (cos 1), k=2 (cos -1)
        -2 + math.log(math.exp(2) + math.exp(0)),  # negatives k=0 (cos 0), k=2 (cos 0)
        -2 * R + math.log(math.exp(0) + math.exp(2)),  # negatives k=0 (cos 0), k=1 (cos 1)
    ]
    assert loss.tolist() == pytest.approx(expected, abs=1e-5)
    # the positive does not enter the denominator: it can make the loss negative
    assert cross_negatives_loss(t([E1, E2]), t([E1, E2]), t([E1, E2]), 1.0).tolist() == (
        pytest.approx([-1.0, -1.0], abs=1e-6)
    )


def test_eq16_info_nce_includes_positive():
    loss = info_nce(t([E1, E2]), t([E1, [R, R]]), tau=1.0)
    expected = [-1 + math.log(math.e + math.exp(R)), -R + math.log(1 + math.exp(R))]
    assert loss.tolist() == pytest.approx(expected, abs=1e-5)


def test_kl_to_labels_is_cross_entropy_for_one_hot():
    loss = kl_to_labels(t([[0.0, 1.0]]), t([[1.0, 0.0]]))
    assert loss.item() == pytest.approx(math.log(1 + math.e), abs=1e-6)
    soft = kl_to_labels(t([[0.0, 0.0]]), t([[0.5, 0.5]]))  # KL(uniform || uniform) = 0
    assert soft.item() == pytest.approx(0.0, abs=1e-6)


def test_pseudo_kl_of_the_released_code():
    # probabilities where log-probabilities belong, mean over the M*C = 2 elements
    p = [1 / (1 + math.e), math.e / (1 + math.e)]  # softmax(0, 1)
    q = [0.5, 0.5]  # softmax(0, 0)
    expected = sum(qi * (math.log(qi) - pi) for pi, qi in zip(p, q, strict=True)) / 2
    value = pseudo_kl_code(t([[0.0, 1.0]]), t([[0.0, 0.0]]))
    assert value.item() == pytest.approx(expected, abs=1e-6)


def test_cmd_and_soft_orthogonality_by_hand():
    x, y = t([[0.0], [2.0]]), t([[1.0], [1.0]])
    # means equal (1 = 1); 2nd central moments 1 vs 0; 3rd 0 vs 0 -> |1 - 0| = 1
    assert cmd(x, y, moments=3).item() == pytest.approx(1.0, abs=1e-6)
    # feature 0 of a varies as (1, -1, 1, -1) over the batch, feature 1 of b as (1, 1, -1, -1):
    # uncorrelated, so a^T b = 0
    a = t([[1.0, 0.0], [-1.0, 0.0], [1.0, 0.0], [-1.0, 0.0]])
    b = t([[0.0, 1.0], [0.0, 1.0], [0.0, -1.0], [0.0, -1.0]])
    assert soft_orthogonality(a, b).item() == pytest.approx(0.0, abs=1e-7)
    # a^T a = [[4, 0], [0, 0]] -> mean of the squared entries = 16 / 4
    assert soft_orthogonality(a, a).item() == pytest.approx(4.0, abs=1e-5)


def test_ed_pair_labels_m_squared_and_m_m_minus_one():
    labels = torch.tensor([0, 1, 0])
    ii, jj = all_pairs(3)
    assert ii.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert jj.tolist() == [0, 1, 2, 0, 1, 2, 0, 1, 2]
    assert matched(3).tolist() == [0, 4, 8]
    paper = ed_selection(3, "paper")
    assert pair_labels(labels, ii[paper], jj[paper]).tolist() == [1, 0, 1, 0, 1, 0, 1, 0, 1]
    code = ed_selection(3, "code")
    assert len(code) == 6
    assert list(zip(ii[code].tolist(), jj[code].tolist(), strict=True)) == [
        (0, 1), (0, 2), (1, 0), (1, 2), (2, 0), (2, 1)
    ]  # fmt: skip
    assert pair_labels(labels, ii[code], jj[code]).tolist() == [0, 1, 0, 0, 1, 0]
    multi = torch.tensor([[1, 0], [1, 1], [1, 0]])
    assert pair_labels(multi, ii[code], jj[code]).tolist() == [0, 1, 0, 0, 1, 0]


def test_ed_losses_by_hand():
    target = t([1.0, 0.0])
    assert ed_loss(t([[0.0], [0.0]]), target, "paper").item() == pytest.approx(math.log(2))
    # positive-class weight 3: (3 log 2 + log 2) / 2
    weighted = ed_loss(t([[0.0], [0.0]]), target, "paper", pos_weight=3.0)
    assert weighted.item() == pytest.approx(2 * math.log(2), abs=1e-6)
    logits = t([[0.0, 1.0], [0.0, 1.0]])
    plain = ed_loss(logits, target, "code")
    assert plain.item() == pytest.approx(
        (math.log(1 + math.exp(-1)) + math.log(1 + math.e)) / 2, abs=1e-6
    )
    weighted = ed_loss(logits, target, "code", pos_weight=3.0)
    assert weighted.item() == pytest.approx(
        (3 * math.log(1 + math.exp(-1)) + math.log(1 + math.e)) / 4, abs=1e-6
    )


# -- the PCMI module with hand-set weights -------------------------------------------------------
# d = 2, C = 2, proj_dim = d. Every AE block outputs 0, the transition swaps the two dimensions
# (S~ = swap(S) on non-negative inputs), g and the classifiers are the identity.
AUDIO = t([[[1, 0], [9, 9]], [[1, 1], [0, 0]]])
AUDIO_MASK = torch.tensor([[True, False], [True, True]])
TEXT = t([[[0, 1], [0, 0]], [[2, 0], [7, 7]]])
TEXT_MASK = torch.tensor([[True, True], [True, False]])
LABELS = torch.tensor([0, 1])
TAU = 1 / (1 + math.exp(-1.0))  # sigmoid(1.0)


def hand_set_pcmi(variant: str, **config) -> PCMI:
    module = PCMI(PCMIConfig(variant=variant, hidden=(4, 3, 2), **config), d=2, num_classes=2)
    eye, swap = torch.eye(2), t([[0, 1], [1, 0]])
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.startswith(("ae_audio.blocks", "ae_text.blocks")) or name.endswith("bias"):
                p.zero_()
        for ae in (module.ae_audio, module.ae_text):
            ae.transition[0].weight.copy_(eye)
            ae.transition[2].weight.copy_(swap)
        for g in (module.g_audio, module.g_text):
            g[0].weight.copy_(eye)
            g[2].weight.copy_(eye)
        for clf in (module.clf_audio, module.clf_text):
            if clf is not None:
                clf.weight.copy_(eye)
    return module


def cos(a, b):
    return sum(x * y for x, y in zip(a, b, strict=True)) / math.hypot(*a) / math.hypot(*b)


def test_pcmi_paper_variant_terms_by_hand():
    module = hand_set_pcmi("paper")
    audio_out, text_out, losses = module(AUDIO, AUDIO_MASK, TEXT, TEXT_MASK, LABELS)
    # L_MSE, mean over real frame elements: audio (2 + 0) / (3 real frames x d 2), text
    # (2 + 8) / (3 x 2), summed over the modalities: 1/3 + 5/3 = 2
    assert losses["mse"].item() == pytest.approx(0.2 * 2.0, abs=1e-5)
    # eq. 11: S~cls = [(0,1), (.5,.5)], T~cls = [(.5,0), (0,2)], labels [0, 1]
    kld_audio = (math.log(1 + math.e) + math.log(2)) / 2
    kld_text = (math.log(1 + math.exp(-0.5)) + math.log(1 + math.exp(-2))) / 2
    assert losses["kld"].item() == pytest.approx(kld_audio + kld_text, abs=1e-5)
    # eq. 14-17: S_cls = [(1,0), (.5,.5)], T_cls = [(0,.5), (2,0)]
    i0 = 0.0 + R / TAU + math.log(1 + math.exp(1 / TAU))
    i1 = (-1 + R) / TAU + 0.0 + math.log(2)
    assert losses["contrastive"].item() == pytest.approx(0.2 * (i0 + i1) / 2, abs=1e-5)
    # the fusion encoder receives the augmented (swapped) sequences, padding zeroed
    assert audio_out.tolist() == [[[0, 1], [0, 0]], [[1, 1], [0, 0]]]
    assert text_out.tolist() == [[[1, 0], [0, 0]], [[0, 2], [0, 0]]]


def test_pcmi_mse_sum_reduction_is_eq_10_literally():
    module = hand_set_pcmi("paper", mse_reduction="sum")
    _, _, losses = module(AUDIO, AUDIO_MASK, TEXT, TEXT_MASK, LABELS)
    # eq. 10: squared errors over real frames: audio 2 + 0, text 2 + 8 -> 12 / (2M = 4) = 3
    assert losses["mse"].item() == pytest.approx(0.2 * 3.0, abs=1e-5)
    mean = hand_set_pcmi("paper")(AUDIO, AUDIO_MASK, TEXT, TEXT_MASK, LABELS)[2]
    for key in ("kld", "contrastive"):  # only L_MSE changes
        assert losses[key].item() == pytest.approx(mean[key].item(), abs=1e-6)


def test_pcmi_mse_reduction_is_refused_with_the_code_variant():
    with pytest.raises(UserError, match="mse_reduction"):
        hand_set_pcmi("code", mse_reduction="sum")


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_pcmi_paper_variant_ignores_padded_values(reduction):
    module = hand_set_pcmi("paper", mse_reduction=reduction)
    _, _, before = module(AUDIO, AUDIO_MASK, TEXT, TEXT_MASK, LABELS)
    audio, text = AUDIO.clone(), TEXT.clone()
    audio[0, 1] = torch.tensor([-3.0, 40.0])
    text[1, 1] = torch.tensor([5.0, -1.0])
    _, _, after = module(audio, AUDIO_MASK, text, TEXT_MASK, LABELS)
    for key in before:
        assert after[key].item() == pytest.approx(before[key].item(), abs=1e-6)


def test_pcmi_code_variant_terms_by_hand():
    module = hand_set_pcmi("code")
    assert module.clf_audio is None
    audio_out, text_out, losses = module(AUDIO, AUDIO_MASK, TEXT, TEXT_MASK, LABELS)
    # element-mean MSE incl. padding: audio 2 / 8, text (2 + 8) / 8
    assert losses["mse"].item() == pytest.approx(0.2 * (2 / 8 + 10 / 8), abs=1e-5)
    # cls: audio mean over all frames (padding included), text first token
    s_cls, s_aug = [(5, 4.5), (0.5, 0.5)], [(4.5, 5), (0.5, 0.5)]
    t_cls, t_aug = [(0, 1), (2, 0)], [(1, 0), (0, 2)]
    # pseudo-KL as the released call F.kl_div(origin_text_probs, aug_text_probs): "log-prob"
    # input = softmax(clf(g(T_cls))) = softmax(T_cls), target = softmax(clf(T~cls)) = softmax(T~cls):
    # mean(p_aug * (log p_aug - p_orig)) over the M*C = 4 elements, counted twice
    total = 0.0
    for pred, target in zip(t_cls, t_aug, strict=True):
        p = [math.exp(v) / sum(math.exp(w) for w in pred) for v in pred]
        q = [math.exp(v) / sum(math.exp(w) for w in target) for v in target]
        total += sum(qi * (math.log(qi) - pi) for pi, qi in zip(p, q, strict=True))
    assert losses["kld"].item() == pytest.approx(2 * total / 4, abs=1e-5)

    def nt_xent_hand(a, b):
        z = list(a) + list(b)
        m = len(a)
        out = 0.0
        for i in range(2 * m):
            pos = (i + m) % (2 * m)
            denom = sum(math.exp(cos(z[i], z[k]) / TAU) for k in range(2 * m) if k != i)
            out += -cos(z[i], z[pos]) / TAU + math.log(denom)
        return out / (2 * m)

    def info_nce_hand(a, b):
        out = 0.0
        for i in range(len(a)):
            denom = sum(math.exp(cos(a[i], b[k]) / TAU) for k in range(len(b)))
            out += -cos(a[i], b[i]) / TAU + math.log(denom)
        return out / len(a)

    l_c = nt_xent_hand(s_cls, s_aug) + nt_xent_hand(t_cls, t_aug) + info_nce_hand(s_cls, t_cls)
    assert losses["contrastive"].item() == pytest.approx(0.2 * l_c, abs=1e-5)
    # the fusion encoder receives the raw adapter outputs
    assert torch.equal(audio_out, AUDIO) and torch.equal(text_out, TEXT)


def test_pcmi_code_variant_pseudo_kl_in_the_released_argument_order():
    # F.kl_div(origin_text_probs, aug_text_probs) = mean(p_aug * (log p_aug - p_orig)); with a
    # transition that doubles dimension 0 the two orders give different values (a swap would not)
    module = hand_set_pcmi("code")
    with torch.no_grad():
        module.ae_text.transition[2].weight.copy_(t([[2, 0], [0, 1]]))
    _, _, losses = module(AUDIO, AUDIO_MASK, TEXT, TEXT_MASK, LABELS)
    t_orig, t_aug = [(0, 1), (2, 0)], [(0, 1), (4, 0)]  # first tokens, before and after f_AE

    def softmax(v):
        return [math.exp(x) / sum(math.exp(y) for y in v) for x in v]

    def released(orig, aug):
        total = 0.0
        for o, a in zip(orig, aug, strict=True):
            p_o, p_a = softmax(o), softmax(a)
            total += sum(pa * (math.log(pa) - po) for po, pa in zip(p_o, p_a, strict=True))
        return 2 * total / 4  # mean over M*C = 4 elements, counted twice

    assert losses["kld"].item() == pytest.approx(released(t_orig, t_aug), abs=1e-6)
    assert abs(released(t_orig, t_aug) - released(t_aug, t_orig)) > 1e-2  # the order matters


def test_temperature_starts_at_sigmoid_one():
    module = PCMI(PCMIConfig(hidden=(4, 3, 2)), d=2, num_classes=2)
    assert module.tau().item() == pytest.approx(TAU, abs=1e-7)
    assert module.tau.p.requires_grad
