# DeepLabV3 with GhostNetV2 1.0x at output stride 16: about 4x cheaper ASPP than the output-stride-8
# config; ASPP rates (1, 6, 12, 18) as in the DeepLabV3 paper for output stride 16.
# Hardware and schedule as deeplabv3_ghostnetv2_ade20k.py: 4 GPUs x 4 images, SyncBN, 160k iterations.
# Peer: mmseg mobilenet-v2-d8_deeplabv3_4xb4-160k_ade20k-512x512, 34.08 mIoU (output stride 8).
# Cost at 512x512 against the peer: metafile.yml (python tools/analysis_tools/get_flops.py CONFIG --shape 512).
_base_ = './deeplabv3_ghostnetv2_ade20k.py'
model = dict(backbone=dict(output_stride=16), decode_head=dict(dilations=(1, 6, 12, 18)))
