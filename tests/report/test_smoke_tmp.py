import time
def test_pipeline(pipeline):
    print(sorted(p.relative_to(pipeline).as_posix() for p in (pipeline/'reports').rglob('*'))[:80])
