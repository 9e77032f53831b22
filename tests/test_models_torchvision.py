"""torchvision's ResNets in tinygrad_ko, without torch: the layout, the Bottleneck, the constructors'
arguments, and the seed notes' ResNet-50 surgery run as written.

``tests/test_models_torchvision_interop.py`` checks the same models against torchvision itself.
"""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_ko as torch
from tinygrad_ko import models, nn
from tinygrad_ko.models import BasicBlock, Bottleneck, resnet50


def _x(shape, seed=0):
    return torch.from_numpy(np.random.default_rng(seed).standard_normal(shape).astype(np.float32))


@pytest.fixture(scope="module")
def r50():
    torch.manual_seed(0)
    return resnet50()


# ---- layout ------------------------------------------------------------------------------------
def test_resnet50_parameter_count_children_and_state_dict_layout(r50):
    assert sum(p.numel() for p in r50.parameters()) == 25_557_032  # torchvision's count
    assert [n for n, _ in r50.named_children()] == [
        "conv1",
        "bn1",
        "relu",
        "maxpool",
        "layer1",
        "layer2",
        "layer3",
        "layer4",
        "avgpool",
        "fc",
    ]
    assert [len(r50.get_submodule(f"layer{i}")) for i in (1, 2, 3, 4)] == [3, 4, 6, 3]
    sd = r50.state_dict()
    keys = list(sd)
    assert len(keys) == 320  # 53 BN layers x 5 + 53 convs + fc.weight, fc.bias
    assert keys[:7] == [
        "conv1.weight",
        "bn1.weight",
        "bn1.bias",
        "bn1.running_mean",
        "bn1.running_var",
        "bn1.num_batches_tracked",
        "layer1.0.conv1.weight",
    ]
    assert keys[-3:] == ["layer4.2.bn3.num_batches_tracked", "fc.weight", "fc.bias"]
    # the first block of every stage has a shortcut conv (64 -> 256 channels even in layer1)
    assert sd["layer1.0.downsample.0.weight"].shape == (256, 64, 1, 1)
    assert sd["layer2.0.downsample.0.weight"].shape == (512, 256, 1, 1)
    assert "layer1.1.downsample.0.weight" not in sd
    assert sd["layer1.0.downsample.1.num_batches_tracked"].dtype == torch.int64
    assert sd["layer1.0.downsample.1.num_batches_tracked"].shape == ()
    assert sd["layer3.5.conv2.weight"].shape == (256, 256, 3, 3)
    assert sd["fc.weight"].shape == (1000, 2048) and sd["fc.weight"].dtype == torch.float32
    assert r50.fc.in_features == 2048


def test_bottleneck_is_v1_5_with_stride_on_the_3x3_conv(r50):
    block = r50.layer2[0]
    assert isinstance(block, Bottleneck) and Bottleneck.expansion == 4
    assert (block.conv1.kernel_size, block.conv1.stride) == ((1, 1), (1, 1))
    assert (block.conv2.kernel_size, block.conv2.stride, block.conv2.padding) == ((3, 3), (2, 2), (1, 1))
    assert (block.conv3.in_channels, block.conv3.out_channels) == (128, 512)
    assert block.downsample[0].stride == (2, 2)
    assert all(getattr(block, f"conv{i}").bias is None for i in (1, 2, 3))


def test_bottleneck_forward_is_its_formula_with_the_identity_shortcut():
    torch.manual_seed(0)
    block = Bottleneck(64, 16).eval()  # 64 == 16 * 4: identity shortcut
    assert block.downsample is None
    x = _x((2, 64, 5, 5))
    with torch.no_grad():
        out = block(x)
        relu = nn.functional.relu
        branch = block.bn3(block.conv3(relu(block.bn2(block.conv2(relu(block.bn1(block.conv1(x))))))))
        np.testing.assert_allclose(out.numpy(), relu(branch + x).numpy(), rtol=1e-6, atol=1e-6)
        nn.init.zeros_(block.bn3.weight)  # zero_init_residual: the branch is 0, the block is relu(x)
        np.testing.assert_array_equal(block(x).numpy(), relu(x).numpy())


def test_bottleneck_downsample_shortcut_shapes_and_gradients():
    torch.manual_seed(0)
    down = nn.Sequential(nn.Conv2d(32, 64, 1, stride=2, bias=False), nn.BatchNorm2d(64))
    block = Bottleneck(32, 16, stride=2, downsample=down)
    x = _x((2, 32, 8, 8)).requires_grad_()
    out = block(x)
    assert out.shape == (2, 64, 4, 4) and out.min().item() >= 0  # relu at the end
    out.sum().backward()
    assert x.grad.shape == x.shape and down[0].weight.grad is not None
    with pytest.raises(RuntimeError, match="size"):  # no shortcut where the channels change
        Bottleneck(32, 16)(x)


def test_resnet_output_shapes_and_extras():
    torch.manual_seed(0)
    with torch.no_grad():
        model = resnet50(num_classes=10).eval()
        assert model(_x((1, 3, 64, 64))).shape == (1, 10)
        body = nn.Sequential(*list(model.children())[:-2])
        assert body(_x((1, 3, 64, 64))).shape == (1, 2048, 2, 2)
        # the extras: digits, a small stem, narrower stages, Bottlenecks through resnet()
        small = models.resnet([1, 1, 1, 1], width=8, num_classes=3, in_channels=1, small_input=True, block=Bottleneck)
        assert isinstance(small.layer1[0], Bottleneck) and small.fc.in_features == 8 * 8 * 4
        assert small(_x((2, 1, 28, 28))).shape == (2, 3)
        assert models.resnet_small(num_classes=10, in_channels=1)(_x((2, 1, 28, 28))).shape == (2, 10)


def test_torchvision_constructor_arguments():
    torch.manual_seed(0)
    m = models.resnet18(num_classes=7, zero_init_residual=True, progress=False)
    assert m.fc.out_features == 7
    assert all(float(b.bn2.weight.abs().sum()) == 0 for stage in (m.layer1, m.layer4) for b in stage)
    assert float(m.layer1[0].bn1.weight.sum()) == 64  # the other BNs start as the identity
    x = _x((2, 64, 6, 6))
    with torch.no_grad():  # each block starts as the identity map
        np.testing.assert_array_equal(m.layer1[0](x).numpy(), nn.functional.relu(x).numpy())
    # ResNeXt / Wide ResNet: grouped and wider 3x3 convs inside the Bottleneck
    rx = models.resnext50_32x4d()
    assert rx.layer1[0].conv2.groups == 32 and rx.layer1[0].conv2.weight.shape == (128, 4, 3, 3)
    assert models.ResNet(Bottleneck, [1, 1, 1, 1], width_per_group=128).layer1[0].conv2.weight.shape == (
        128,
        128,
        3,
        3,
    )
    # dilation instead of stride keeps layer3/layer4 at 1/8 of the input
    dil = resnet50(replace_stride_with_dilation=[False, True, True]).eval()
    with torch.no_grad():
        assert nn.Sequential(*list(dil.children())[:-2])(_x((1, 3, 64, 64))).shape == (1, 2048, 8, 8)
    assert dil.layer4[1].conv2.dilation == (4, 4) and dil.layer4[1].conv2.padding == (4, 4)
    with pytest.raises(ValueError, match="replace_stride_with_dilation should be None or a 3-element tuple"):
        resnet50(replace_stride_with_dilation=[True])
    with pytest.raises(ValueError, match="BasicBlock only supports groups=1 and base_width=64"):
        models.resnet18(groups=2)
    with pytest.raises(NotImplementedError, match="Dilation > 1 not supported in BasicBlock"):
        models.resnet18(replace_stride_with_dilation=[False, False, True])
    with pytest.raises(TypeError):  # keyword-only, as in torchvision
        models.resnet50(10)
    assert isinstance(models.resnet18(norm_layer=nn.BatchNorm2d).bn1, nn.BatchNorm2d)
    assert isinstance(BasicBlock(4, 4).bn1, nn.BatchNorm2d)


@pytest.mark.parametrize("kwargs", [{"weights": "IMAGENET1K_V1"}, {"weights": "DEFAULT"}, {"pretrained": True}])
def test_pretrained_weights_are_not_downloaded_and_the_error_says_what_to_do(kwargs):
    with pytest.raises(ValueError) as err:
        models.resnet50(**kwargs)
    msg = str(err.value)
    assert msg.startswith("resnet50(") and "downloads nothing" in msg
    assert "python -m tinygrad_ko convert resnet50.pth resnet50.safetensors" in msg
    assert 'model.load_state_dict(tinygrad_ko.load("resnet50.safetensors"))' in msg
    assert models.resnet18(weights=None, pretrained=False).fc.out_features == 1000


# ---- the seed notes' surgery -------------------------------------------------------------------
def test_seed_notes_resnet50_surgery_as_written():
    torch.manual_seed(0)
    n = 3
    body = nn.Sequential(*list(resnet50().children())[:-2])
    head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2048, n), nn.Softmax(dim=1))
    model = nn.Sequential(body, head)
    assert len(body) == 8 and isinstance(body[-1][-1], Bottleneck)
    assert repr(head[0]) == "AdaptiveAvgPool2d(output_size=1)" and repr(head[3]) == "Softmax(dim=1)"
    assert list(model.state_dict())[:2] == ["0.0.weight", "0.1.weight"]
    assert list(model.state_dict())[-2:] == ["1.2.weight", "1.2.bias"]

    # inference on ImageNet-sized images
    model.eval()
    with torch.no_grad():
        probs = model(_x((2, 3, 224, 224)))
    assert probs.shape == (2, n) and probs.grad_fn is None and not probs.requires_grad
    np.testing.assert_allclose(probs.sum(dim=1).numpy(), [1, 1], rtol=1e-6)
    assert (probs.numpy() > 0).all()

    # feature extraction: freeze the body, train the head only
    body.requires_grad_(False)
    assert not any(p.requires_grad for p in body.parameters())
    assert all(p.requires_grad for p in head.parameters())
    opt = torch.optim.SGD(head.parameters(), lr=1e-3)  # |features|^2 ~ 2800 at random init
    model.train()
    x, y = _x((4, 3, 32, 32), seed=1), torch.tensor([0, 1, 2, 1])  # small images keep it quick
    before = [p.detach().clone() for p in body.parameters()]
    losses = []
    for _ in range(3):
        opt.zero_grad()
        probs = model(x)
        loss = nn.functional.nll_loss(probs.log(), y)  # the head ends in Softmax: NLL of its log
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0], losses
    assert all(p.grad is None for p in body.parameters())
    assert all(p.grad is not None and p.grad.dtype == torch.float32 for p in head.parameters())
    assert all(torch.equal(a, b) for a, b in zip(before, body.parameters()))
    # train mode still updates the frozen body's BN statistics, as in PyTorch
    assert body[1].num_batches_tracked.item() == 3

    # fine-tuning: unfreeze the last stage as well
    body[-1].requires_grad_(True)
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.01)
    opt.zero_grad()
    nn.functional.nll_loss(model(x).log(), y).backward()
    assert body[-1][0].conv1.weight.grad is not None and body[0].weight.grad is None
