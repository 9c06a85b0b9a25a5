### 桌面应用的简体中文文字。每个 id 都须与 en.ftl 中的一一对应
### （单元测试会检查）；参数（$room、$user、$count…）也须相同。

app-name = 聊天室
window-title-unread = ({ $count }) { app-name }

## 语言选择

language-label = 语言
language-system = 跟随系统（{ $language }）
language-hover = 应用界面的语言。“跟随系统”使用这台电脑的语言。

## 登录与注册

login-tab-login = 登录
login-tab-register = 注册
login-server = 服务器地址
login-username = 用户名
login-email = 电子邮箱
login-passphrase = 口令
login-passphrase-again = 再次输入口令
login-passphrase-help = 你的口令不会离开这台电脑：每次登录时，应用都用它在本地算出一个一次性密码。
login-certificate = 证书（可选）
login-ca-file = CA 文件
login-ca-hint = 服务器 ca.pem 文件的路径
login-ca-help = 没有 CA 文件时，首次连接会显示服务器的指纹，请你确认。
login-create-account = 创建账户
login-connect = 连接并登录
login-verify-heading = 确认你的电子邮箱
login-verify-help = 服务器已向你发送一封含 6 位验证码的邮件，验证码 15 分钟内有效。
login-verify-code = 验证码
login-verify-confirm = 确认验证码
login-verify-resend = 重新发送验证码
login-verify-sent = 新的验证码已发出，请查收邮件。
login-verify-shape = 验证码是邮件中的 6 位数字。
login-host-help = 还没有服务器？在这里运行一个，同一网络中的其他人都可以加入。
login-host = 在这台电脑上运行服务器
login-host-failed = 无法在这里启动服务器：{ $reason }
login-ca-unreadable = 无法读取 CA 文件 { $path }。
login-pin-unusable = 为这台服务器记住的指纹无法使用：{ $reason }
login-skipped = 自你上次在这台电脑登录以来，已有 { $count } 个一次性密码被使用。如果你没有在别处登录，可能有人在冒充服务器或冒充你。

form-enter-server = 请输入服务器地址，例如 chat.example.org:4433。
form-enter-username = 请输入用户名。
form-enter-email = 请输入电子邮箱地址，例如 you@example.org。
form-enter-passphrase = 请输入你的口令。
form-enter-passphrase-again = 请再次输入口令。
form-add-port = 请加上端口，例如 chat.example.org:4433。
form-username-rule = 2 到 32 个字母、数字、“_”、“-”或“.”，以字母或数字开头。
form-email-shape = 这看起来不像电子邮箱地址（you@example.org）。
form-passphrases-differ = 两次输入的口令不一致。
form-passphrase-short = { $count } 个字符：至少需要 { $min } 个。
form-passphrase-long = { $count } 个字符：最多允许 { $max } 个。
form-passphrase-acceptable = { $count } 个字符：可以使用；用几个词会更安全。
form-passphrase-strong = { $count } 个字符：强度高。

## 运行服务器

host-port = 正在端口 { $port } 上运行服务器
host-join-at-port = 其他人通过这台电脑的地址加入，端口 { $port }。
host-join-at = 其他人通过以下地址加入：
host-fingerprint = 并核对这个 CA SHA-256 指纹：

## 证书信任

trust-fetching = 正在获取 { $server } 的证书…
trust-first = 首次连接到 { $server }
trust-fingerprint-is = 它的 CA SHA-256 指纹是：
trust-check = 请核对它与服务器启动时打印的内容（“CA SHA-256 fingerprint: …”）或管理员提供给你的指纹是否一致。应用会记住它，以后拒绝不同的证书。
trust-accept = 信任并连接
trust-cancel = 取消
trust-changed = 警告：服务器的证书已改变，它可能不是你信任的那台服务器。
trust-not-connected = 应用没有连接到 { $server }。
trust-trusted = 信任的指纹：
trust-new = 服务器现在出示的指纹：
trust-new-unknown = 无法读取新的指纹。
trust-forget-help = 如果管理员确认了新的指纹，请忘记旧的指纹并重新连接。
trust-forget = 忘记信任的证书

## 聊天界面的顶栏与提示

top-who = { $user }，位于 { $server }
top-log-out = 退出登录
top-change-picture = 更换头像
top-online-hover = 显示或隐藏在线的人
top-passwords-left = 剩余 { $count } 个一次性密码
top-passwords-hover = 每次登录使用一个一次性密码。剩余不足 10 个时，应用会在下次登录时自动设置新的一组。
notice-dismiss = 关闭
notifications = 通知
notifications-hover = 窗口在后台时，为私信和提到你的消息显示桌面通知。要让单个房间静音，请使用房间列表中它的菜单。

## 房间面板

rooms-heading = 房间
rooms-direct-heading = 私信
rooms-direct-empty = 点击“在线”下的名字开始私信。
room-with-marks = { $room }（{ $marks }）
room-marks-separator = {"，"}
room-unread = { $count } 条未读
room-mentions = { $count } 次提到你
room-muted = 已静音
room-muted-hover = 已静音：没有桌面通知，也不计入标题
room-mute = 静音 { $room }
room-unmute = 取消静音 { $room }
room-leave-named = 离开 #{ $room }
room-join-heading = 加入或创建房间
room-name-hint = 房间名
room-name-rule = 房间名由字母、数字、“_”或“-”组成（最多 32 个）。
room-becomes = 将成为 #{ $room }
room-join = 加入
room-create = 创建
room-create-named = 创建 #{ $room }
room-missing = 还没有房间 #{ $room }。
room-others = 其他房间
room-join-named = 加入 # { $room }

## 在线列表

online-count = 在线（{ $count }）
online-you = { $user }（你）
online-direct-hover = 发送私信

## 消息

messages-join-first = 加入一个房间开始聊天。
messages-leave = 离开
messages-leave-hover = 离开 #{ $room }：将不再收到它的消息
jump-newest = 最新消息 ⬇
jump-new = { $count } 条新消息 ⬇
list-new-divider = 新消息
list-mentions-you = 提到了你
list-mention-hover = 这条消息提到了你
list-sent = 已发送
list-loading = 正在加载…
list-load-older = 加载更早的消息
list-sending = 正在发送…
list-not-sent = 未发送：{ $reason }
banner-connecting = 正在连接…
banner-reconnecting-now = 正在重新连接…
banner-reconnecting-in = { $seconds } 秒后重新连接
banner-lost = 连接已断开。{ $when }（第 { $attempt } 次尝试）。
banner-why = 原因：{ $reason }。期间你写的消息会在重新连接后发送。
banner-retry-now = 立即重试

## 输入框

composer-label = 消息
composer-join-first = 加入一个房间后才能发言
composer-hint = 输入消息（Enter 发送，Shift+Enter 换行）
composer-send = 发送
composer-bytes = { $len } / { $limit } 字节
composer-bytes-over = { $len } / { $limit } 字节：超出 { $over }
composer-slow-down = 请慢一点：服务器每秒只接受几条消息。你的消息将在 { $seconds } 秒后自动发出。
composer-not-sent = 未发送：{ $reason }。
mention-help = 提到某人（↑↓，Enter）
mention-named = 提到 { $user }

## 跳转到房间

switcher-title = 跳转到房间
switcher-field = 房间名
switcher-hint = 输入名字的一部分
switcher-none = 没有匹配的房间。
switcher-help = ⬆ ⬇ 选择 · Enter 打开 · Esc 关闭

## 你的头像

profile-title = 你的头像
profile-you-now = 这就是现在的你。所有人都会看到你选的头像。
profile-pick = 选一个
profile-asking = 正在向服务器获取头像…
profile-upload-heading = 或者上传你自己的
profile-upload-help = PNG、JPEG、GIF 或 WebP，最大 2 MiB；服务器会把它裁成正方形。也可以把文件拖放到这个窗口上。
profile-drop-here = 松开即可上传这张图片
profile-file = 图片文件
profile-upload = 上传
profile-picture = 头像 { $number }
profile-type-path = 请先输入图片文件的路径。

## 文件选择器

file-choose = 选择…
file-unavailable = 这个桌面上没有可用的文件选择器，请输入路径。
file-title-image = 选择你的头像
file-title-ca = 选择服务器的 CA 文件
file-filter-images = 图片
file-filter-certificates = 证书
file-hover-image = 用桌面的文件选择器挑选图片
file-hover-ca = 用桌面的文件选择器挑选 CA 文件

## 图片和文件

attach-button = 添加文件
attach-hover = 添加图片或文件（也可以拖放到窗口上，或者粘贴图片）
attach-unavailable = 这个桌面上没有可用的文件选择器，请把文件拖放到窗口上。
attach-drop-here = 松开即可把文件添加到消息
attach-uploading = 正在上传 { $name }
attach-cancel = 取消上传 { $name }
attach-cancel-hover = 停止上传并从消息中移除这个文件
attach-remove = 移除 { $name }
attach-remove-hover = 从消息中移除这个文件
attach-retry = 重试
attach-retry-named = 重新上传 { $name }
attach-wait = 还没有发送：请等文件上传完成。
attach-fix-failed = 未发送：请重试或移除没有上传成功的文件。
attach-too-many = 一条消息最多带 { $count } 个文件。
attach-paste-failed = 无法添加粘贴的图片：{ $reason }
file-title-attach = 添加文件
file-title-save = 保存文件
file-picture = 图片：{ $name }
file-picture-hover = { $width } × { $height }，{ $size }。点击查看原图。
file-save = 保存
file-save-named = 保存 { $name }
file-save-hover = 下载这个文件并保存到这台电脑上
file-saving = 正在保存 { $name }
file-save-cancel = 停止保存 { $name }
file-saved = 已保存为 { $file }
file-save-failed = 未保存：{ $reason }
viewer-loading = 正在加载 { $name }
viewer-failed = 无法显示这张图片：{ $reason }
viewer-close = 关闭
viewer-close-named = 关闭图片

## 桌面通知

notify-in-room = { $user } 在 #{ $room }
notify-count = { $who }（{ $count } 条新消息）
notify-open = 打开

## 失败的操作

notice-offline = 目前没有连接，请稍后再试。
notice = { $about }：{ $reason }
about-room-list = 无法获取房间列表
about-rejoin = 无法重新加入房间
about-join = 无法加入 { $room }
about-create = 无法创建 { $room }
about-leave = 无法离开 { $room }
about-direct = 无法给 { $user } 发私信
about-missed = 无法获取错过的消息
about-older = 无法加载更早的消息
about-picture-pool = 无法获取头像列表
about-choose-picture = 无法更换你的头像
about-upload-picture = 这张图片未被接受
about-read-picture = 无法使用 { $path }
about-new-code = 无法发送新的验证码
about-upload = 无法上传 { $name }
about-read-file = 无法读取 { $path }
about-download = 无法下载该文件
about-save-file = 无法保存 { $path }

## 登录问题

problem-unreachable = 无法连接到 { $server } 上的服务器。请检查地址，并确认服务器正在运行。
problem-bad-address = 这个服务器地址不可用：{ $detail }。
problem-certificate-changed = 服务器的证书已改变，它可能不是你信任的那台服务器。应用没有连接。
problem-untrusted = 服务器的证书不受信任（{ $detail }）。
problem-wrong-passphrase = 用户名或口令错误。
problem-email-not-verified = 请先确认你的电子邮箱：输入服务器发送的邮件中的 6 位验证码。
problem-locked-out = 失败次数过多，请稍后再试。
problem-locked-out-for = 失败次数过多，请在 { $seconds } 秒后再试。
problem-wrong-code = 验证码错误或已过期；请查看最新的邮件，或重新获取验证码。

## 服务器的错误代码

error-with-detail = { $error }（{ $detail }）。
error-upgrade-required = 这个应用与服务器的版本不兼容，请更新其中之一。
error-bad-request = 服务器无法读取这个请求。
error-too-large = 内容太大，服务器无法接受。
error-hello-required = 连接没有正确建立，请重试。
error-not-logged-in = 你尚未登录，请重新登录。
error-auth-failed = 用户名或口令错误。
error-locked-out = 失败次数过多，请稍后再试。
error-email-not-verified = 请先确认你的电子邮箱：输入服务器发送的邮件中的 6 位验证码。
error-username-taken = 这个用户名已被占用，请换一个。
error-invalid-input = 服务器不接受输入的内容。
error-no-such-room = 没有这个房间。
error-no-such-user = 没有这个用户。
error-not-member = 你不是这个房间的成员。
error-room-exists = 同名的房间已经存在。
error-rate-limited = 请求太频繁，请稍候。
error-no-such-avatar = 服务器上没有这张头像。
error-invalid-image = 服务器不接受这张图片。
error-storage-unavailable = 服务器无法访问它的数据库，请稍后再试。
error-internal = 服务器出错了，它已记录这个问题。
error-no-such-file = 文件不存在，或你无权查看。
error-quota-exceeded = 你今天上传的文件已达到服务器的上限。

## 未通过检查的名字和文字

validation-username = 用户名为 2 到 32 个字母、数字、“_”、“-”或“.”，以字母或数字开头
validation-email = 这看起来不像电子邮箱地址
validation-room-name = 房间名为 1 到 32 个字母、数字、“_”或“-”
validation-empty-text = 消息是空的
validation-text-too-long = 消息有 { $len } 字节，上限是 { $limit } 字节
validation-avatar-hash = 头像哈希值是 64 位十六进制数字
validation-control-characters = 消息包含控制字符
validation-file-hash = 文件哈希值是 64 位十六进制数字
validation-file-name = 文件名为 1 到 255 字节，不能包含控制字符
validation-too-many-attachments = 一条消息最多带 10 个文件；这条有 { $count } 个
