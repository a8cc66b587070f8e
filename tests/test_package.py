"""The package's import surface: `import lgtsm_tf` is light, its names load on first use."""

import subprocess
import sys

from absl.testing import absltest, parameterized


def _python(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)


class PackageTest(parameterized.TestCase):

    @parameterized.parameters("lgtsm_tf", "lgtsm_tf.serving", "lgtsm_tf.contract",
                              "lgtsm_tf.presets")
    def test_imports_without_tensorflow(self, module):
        done = _python(f"import {module}, sys; "
                       f"assert 'tensorflow' not in sys.modules, 'tensorflow was imported'")
        self.assertEqual(done.returncode, 0, done.stderr[-2000:])

    def test_names_load_on_first_use(self):
        done = _python(
            "import lgtsm_tf, keras\n"
            "from lgtsm_tf import models\n"
            "assert lgtsm_tf.load_model is models.load\n"
            "assert lgtsm_tf.build_generator is models.build_generator\n"
            "g = lgtsm_tf.build_generator('2d', nf=4)\n"
            "assert isinstance(g, lgtsm_tf.InpaintingGenerator) and g.nf == 4\n"
            "assert 'from_preset' in dir(lgtsm_tf)\n"
            "try:\n"
            "    lgtsm_tf.nothing\n"
            "except AttributeError as e:\n"
            "    assert 'nothing' in str(e)\n"
            "else:\n"
            "    raise AssertionError('no AttributeError')\n")
        self.assertEqual(done.returncode, 0, done.stderr[-2000:])


if __name__ == "__main__":
    absltest.main()
